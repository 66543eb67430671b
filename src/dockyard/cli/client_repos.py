"""`dockyard repo|tag|image ...`: repositories, tags and images of a Hub."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from dockyard.cli.client_support import (
    ClientGroup,
    client,
    force_option,
    format_option,
    listing,
    print_fields,
    print_json,
    print_table,
    signed_in_user,
    size,
    split_repository,
    split_tagged,
    when,
)

if TYPE_CHECKING:
    from dockyard.client import models as m

# --- repositories --------------------------------------------------------------------------------------------------


@click.group("repo", cls=ClientGroup)
def repo() -> None:
    """Repositories."""


@repo.command("ls")
@click.argument("namespace", required=False)
@click.option(
    "--ordering",
    type=click.Choice(["name", "-name", "last_updated", "-last_updated", "pull_count", "-pull_count"]),
    help="Sort order.",
)
@click.option("--name", "name_filter", help="Only repositories whose name contains this.")
@format_option
def repo_ls(namespace: str | None, ordering: str | None, name_filter: str | None, output_format: str) -> None:
    """A namespace's repositories (yours by default)."""
    namespace = namespace or signed_in_user()
    if not namespace:
        raise click.UsageError("give a NAMESPACE, or log in first")
    with client() as hub:
        repos = hub.list_repositories(namespace, ordering=ordering, name=name_filter).all()
    listing(
        output_format,
        repos,
        ["REPOSITORY", "DESCRIPTION", "VISIBILITY", "STARS", "PULLS", "LAST UPDATED"],
        lambda r: [
            r.full_name,
            r.description,
            "private" if r.is_private else "public",
            r.star_count,
            r.pull_count,
            when(r.last_updated),
        ],
    )


def _show_repository(found: m.Repository, output_format: str) -> None:
    if output_format == "json":
        print_json(found)
        return
    print_fields(
        [
            ("Repository", found.full_name),
            ("Description", found.description),
            ("Visibility", "private" if found.is_private else "public"),
            ("Stars", found.star_count),
            ("Pulls", found.pull_count),
            ("Last updated", when(found.last_updated)),
            ("Registered", when(found.date_registered)),
            ("Storage", size(found.storage_size)),
        ]
    )
    if found.full_description:
        click.echo("\n" + found.full_description)


@repo.command("create")
@click.argument("name")
@click.option("--private", "is_private", is_flag=True, help="Only you (and those you allow) can see it.")
@click.option("--description", help="Short description (up to 100 characters).")
@click.option("--full-description", help="The README (Markdown).")
@format_option
def repo_create(
    name: str, is_private: bool, description: str | None, full_description: str | None, output_format: str
) -> None:
    """Create NAMESPACE/REPOSITORY."""
    namespace, repository = split_repository(name)
    with client() as hub:
        created = hub.create_repository(
            namespace, repository, description=description, full_description=full_description, is_private=is_private
        )
    _show_repository(created, output_format)


@repo.command("describe")
@click.argument("name")
@click.option("--description", help="Set the short description.")
@click.option("--full-description", help="Set the README (Markdown).")
@click.option(
    "--full-description-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Set the README from a file.",
)
@click.option("--private/--public", "is_private", default=None, help="Change the visibility.")
@format_option
def repo_describe(
    name: str,
    description: str | None,
    full_description: str | None,
    full_description_file: Path | None,
    is_private: bool | None,
    output_format: str,
) -> None:
    """Show NAMESPACE/REPOSITORY; with options, change its descriptions or visibility first."""
    namespace, repository = split_repository(name)
    if full_description is not None and full_description_file is not None:
        raise click.UsageError("--full-description and --full-description-file exclude each other")
    if full_description_file is not None:
        full_description = full_description_file.read_text(encoding="utf-8")
    with client() as hub:
        if description is not None or full_description is not None:
            hub.update_repository(namespace, repository, description=description, full_description=full_description)
        if is_private is not None:
            hub.set_privacy(namespace, repository, is_private)
        found = hub.get_repository(namespace, repository)
    _show_repository(found, output_format)


@repo.command("rm")
@click.argument("name")
@force_option
def repo_rm(name: str, force: bool) -> None:
    """Delete NAMESPACE/REPOSITORY with all its tags and images."""
    from dockyard.client import HubError

    namespace, repository = split_repository(name)
    with client() as hub:
        if not force:
            tags = hub.list_tags(namespace, repository, page_size=1)
            try:
                tags.first()
                count = tags.count or 0
            except HubError:
                count = 0
            click.confirm(
                f"Delete {namespace}/{repository} and its {count} tag(s)? This cannot be undone", abort=True, err=True
            )
        hub.delete_repository(namespace, repository)
    click.echo(f"Deleted {namespace}/{repository}")


# --- tags --------------------------------------------------------------------------------------------------------
@click.group("tag", cls=ClientGroup)
def tag() -> None:
    """Tags."""


def _platforms(found: m.Tag) -> str:
    return ", ".join(image.platform for image in found.images) or "-"


@tag.command("ls")
@click.argument("name")
@click.option("--ordering", type=click.Choice(["name", "-name", "last_updated", "-last_updated"]), help="Sort order.")
@click.option("--name", "name_filter", help="Only tags whose name contains this.")
@format_option
def tag_ls(name: str, ordering: str | None, name_filter: str | None, output_format: str) -> None:
    """The tags of NAMESPACE/REPOSITORY."""
    namespace, repository = split_repository(name)
    with client() as hub:
        tags = hub.list_tags(namespace, repository, ordering=ordering, name=name_filter).all()
    listing(
        output_format,
        tags,
        ["TAG", "DIGEST", "STATUS", "LAST PUSHED", "LAST PULLED", "SIZE", "PLATFORMS"],
        lambda t: [
            t.name,
            t.digest,
            t.tag_status,
            when(t.tag_last_pushed),
            when(t.tag_last_pulled),
            size(t.full_size),
            _platforms(t),
        ],
    )


@tag.command("inspect")
@click.argument("name")
@format_option
def tag_inspect(name: str, output_format: str) -> None:
    """A tag: what the Hub knows of it, and its manifest from the registry."""
    from dockyard.client import HubError

    namespace, repository, reference = split_tagged(name)
    manifest: m.Manifest | None = None
    with client() as hub:
        found = hub.get_tag(namespace, repository, reference)
        try:
            manifest = hub.get_manifest(f"{namespace}/{repository}", reference)
        except HubError as exc:
            click.echo(f"warning: the registry did not serve the manifest: {exc}", err=True)
    if output_format == "json":
        print_json({"tag": found, "manifest": manifest})
        return
    print_fields(
        [
            ("Name", f"{namespace}/{repository}:{found.name}"),
            ("Digest", found.digest),
            ("Media type", found.media_type),
            ("Size", size(found.full_size)),
            ("Status", found.tag_status),
            ("Last pushed", when(found.tag_last_pushed)),
            ("Last pulled", when(found.tag_last_pulled)),
            ("Pushed by", found.last_updater_username),
        ]
    )
    if found.images:
        click.echo()
        print_table(
            ["PLATFORM", "DIGEST", "SIZE", "STATUS", "LAST PULLED"],
            [[i.platform, i.digest, size(i.size), i.status, when(i.last_pulled)] for i in found.images],
        )
    if manifest is not None:
        click.echo()
        print_fields([("Manifest", manifest.media_type), ("Manifest size", size(manifest.size))])


@tag.command("rm")
@click.argument("name")
@force_option
def tag_rm(name: str, force: bool) -> None:
    """Delete NAMESPACE/REPOSITORY:TAG (the image stays, untagged)."""
    namespace, repository, reference = split_tagged(name)
    if not force:
        click.confirm(f"Delete the tag {namespace}/{repository}:{reference}?", abort=True, err=True)
    with client() as hub:
        hub.delete_tag(namespace, repository, reference)
    click.echo(f"Deleted {namespace}/{repository}:{reference}")


# --- images ------------------------------------------------------------------------------------------------------
@click.group("image", cls=ClientGroup)
def image() -> None:
    """Images (manifests) of a repository, tagged or not."""


def _tags(entry: m.ImageEntry) -> str:
    current = [t.tag for t in entry.tags if t.is_current]
    past = [t.tag for t in entry.tags if not t.is_current]
    text = ", ".join(current)
    if past:
        text += (" " if text else "") + "(was " + ", ".join(past) + ")"
    return text or "-"


@image.command("ls")
@click.argument("name")
@click.option("--status", type=click.Choice(["active", "inactive"]), help="Only active or inactive images.")
@click.option("--active-from", help="Count images pushed or pulled since then as active (default: a month ago).")
@format_option
def image_ls(name: str, status: str | None, active_from: str | None, output_format: str) -> None:
    """The images of NAMESPACE/REPOSITORY with their tags and status."""
    namespace, repository = split_repository(name)
    with client() as hub:
        images = hub.list_images(namespace, repository, status=status, active_from=active_from).all()
    listing(
        output_format,
        images,
        ["DIGEST", "TAGS", "STATUS", "LAST PUSHED", "LAST PULLED"],
        lambda i: [i.digest, _tags(i), i.status, when(i.last_pushed), when(i.last_pulled)],
    )


def _warning_text(warning: m.DeleteImagesWarning) -> str:
    if warning.warning == "current_tag":
        return "tagged " + ", ".join(warning.tags or [])
    if warning.warning == "is_active":
        return "active (pushed or pulled recently)"
    return warning.warning


@image.command("prune")
@click.argument("name")
@click.option(
    "--status",
    type=click.Choice(["inactive", "active", "all"]),
    default="inactive",
    show_default=True,
    help="Which images to delete.",
)
@click.option("--active-from", help="Images pushed or pulled since then are active (default: a month ago).")
@force_option
@format_option
def image_prune(name: str, status: str, active_from: str | None, force: bool, output_format: str) -> None:
    """Delete images of NAMESPACE/REPOSITORY: a dry run first shows what would go and every warning (an image
    still tagged, or active), then, once confirmed, the deletion runs with those warnings accepted."""
    namespace, repository = split_repository(name)
    with client() as hub:
        chosen = hub.list_images(
            namespace, repository, status=None if status == "all" else status, active_from=active_from
        ).all()
        digests = [entry.digest for entry in chosen]
        if not digests:
            click.echo("Nothing to prune")
            return
        manifests = [(repository, digest) for digest in digests]
        preview = hub.delete_images(namespace, manifests, dry_run=True, active_from=active_from)
        refused = {error.digest for error in preview.errors}
        if refused:
            for error in preview.errors:
                click.echo(f"skipping {error.digest}: {error.error}", err=True)
            manifests = [(repo_name, digest) for repo_name, digest in manifests if digest not in refused]
            if not manifests:
                raise click.ClickException("none of the images can be deleted")
            preview = hub.delete_images(namespace, manifests, dry_run=True, active_from=active_from)
            if preview.errors:
                raise click.ClickException(preview.message or "the server refused the deletion")
        warnings = preview.warnings
        _preview(output_format, manifests, chosen, warnings)
        if not force:
            click.confirm(
                f"Delete {len(manifests)} image(s) from {namespace}/{repository}"
                + (f", accepting {len(warnings)} warning(s)" if warnings else "")
                + "?",
                abort=True,
                err=True,
            )
        result = hub.delete_images(namespace, manifests, active_from=active_from, ignore_warnings=warnings)
    if not result.ok:
        raise click.ClickException(result.message or "the server refused the deletion")
    if output_format == "json":
        print_json({"dry_run": preview, "result": result})
    else:
        click.echo(
            f"Deleted {result.metrics.manifest_deletes} image(s) and {result.metrics.tag_deletes} tag(s) "
            f"from {namespace}/{repository}"
        )


def _preview(
    output_format: str, manifests: list[tuple[str, str]], entries: list[m.ImageEntry], warnings: list[Any]
) -> None:
    by_digest = {entry.digest: entry for entry in entries}
    notes: dict[str, list[str]] = {}
    for warning in warnings:
        notes.setdefault(warning.digest, []).append(_warning_text(warning))
    if output_format == "json":
        return
    print_table(
        ["DIGEST", "TAGS", "STATUS", "WARNINGS"],
        [
            [
                digest,
                _tags(by_digest[digest]) if digest in by_digest else "-",
                by_digest[digest].status if digest in by_digest else "-",
                "; ".join(notes.get(digest, [])) or "-",
            ]
            for _, digest in manifests
        ],
        title="Images to delete (dry run)",
    )
