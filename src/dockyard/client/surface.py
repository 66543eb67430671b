"""The one list of SDK operations that `Hub` and `AsyncHub` both inherit.

Each attribute of `Operations` wraps a flow (or a listing) from the route modules in a descriptor. Read from a
`Hub`, it is a plain method returning the result (or a `Paged` iterator); read from an `AsyncHub`, the same method
returns an awaitable (or an `AsyncPaged` async iterator). The signatures and docstrings come from the flows, so
the two clients have the same surface by construction, and type checkers see the right types on each.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from dockyard.client import registry as reg
from dockyard.client import routes_accounts as acc
from dockyard.client import routes_analytics as dvp
from dockyard.client import routes_repos as rep
from dockyard.client.calls import Flow, Listing
from dockyard.client.context import Context
from dockyard.client.paging import AsyncPaged, Paged

P = ParamSpec("P")
T = TypeVar("T")


class SyncRunner:
    """What a blocking client provides to the descriptors."""

    _ctx: Context

    def _drive(self, flow: Flow[T]) -> T:
        raise NotImplementedError

    def _paginate(self, listing: Listing[T]) -> Paged[T]:
        raise NotImplementedError


class AsyncRunner:
    """What an asynchronous client provides to the descriptors."""

    _ctx: Context

    async def _drive(self, flow: Flow[T]) -> T:
        raise NotImplementedError

    def _paginate(self, listing: Listing[T]) -> AsyncPaged[T]:
        raise NotImplementedError


def _signature(function: Callable[..., Any]) -> inspect.Signature:
    """The flow's signature without its first parameter (the client's context)."""
    full = inspect.signature(function)
    return full.replace(parameters=list(full.parameters.values())[1:], return_annotation=inspect.Signature.empty)


def _bind(function: Callable[..., Any], signature: inspect.Signature, bound: Callable[..., Any]) -> Callable[..., Any]:
    bound.__name__ = function.__name__
    bound.__qualname__ = function.__qualname__
    bound.__doc__ = function.__doc__
    bound.__signature__ = signature  # type: ignore[attr-defined]
    return bound


class Operation(Generic[P, T]):
    """A flow, run by whichever client it is read from."""

    def __init__(self, flow: Callable[Concatenate[Context, P], Flow[T]]) -> None:
        self.flow = flow
        self.signature = _signature(flow)
        self.__doc__ = flow.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: SyncRunner, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(self, obj: AsyncRunner, owner: type[Any]) -> Callable[P, Awaitable[T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        flow = self.flow

        def run(*args: Any, **kwargs: Any) -> Any:
            return obj._drive(flow(obj._ctx, *args, **kwargs))

        return _bind(flow, self.signature, run)


class ListOperation(Generic[P, T]):
    """A listing, iterated page by page by whichever client it is read from."""

    def __init__(self, listing: Callable[Concatenate[Context, P], Listing[T]]) -> None:
        self.listing = listing
        self.signature = _signature(listing)
        self.__doc__ = listing.__doc__

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Self: ...

    @overload
    def __get__(self, obj: SyncRunner, owner: type[Any]) -> Callable[P, Paged[T]]: ...

    @overload
    def __get__(self, obj: AsyncRunner, owner: type[Any]) -> Callable[P, AsyncPaged[T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        listing = self.listing

        def run(*args: Any, **kwargs: Any) -> Any:
            return obj._paginate(listing(obj._ctx, *args, **kwargs))

        return _bind(listing, self.signature, run)


class Operations:
    """Every operation of the SDK (see the route modules for what each sends)."""

    # signing in
    login = Operation(acc.login)
    login_second_factor = Operation(acc.login_second_factor)
    auth_token = Operation(acc.auth_token)
    logout = Operation(acc.logout)
    signup = Operation(acc.signup)
    # second factor
    two_factor_status = Operation(acc.two_factor_status)
    enable_totp = Operation(acc.enable_totp)
    confirm_totp = Operation(acc.confirm_totp)
    regenerate_recovery_codes = Operation(acc.regenerate_recovery_codes)
    disable_two_factor = Operation(acc.disable_two_factor)
    # personal access tokens
    create_access_token = Operation(acc.create_access_token)
    list_access_tokens = ListOperation(acc.list_access_tokens)
    get_access_token = Operation(acc.get_access_token)
    update_access_token = Operation(acc.update_access_token)
    activate_access_token = Operation(acc.activate_access_token)
    deactivate_access_token = Operation(acc.deactivate_access_token)
    delete_access_token = Operation(acc.delete_access_token)
    # organisation access tokens
    create_org_access_token = Operation(acc.create_org_access_token)
    list_org_access_tokens = ListOperation(acc.list_org_access_tokens)
    get_org_access_token = Operation(acc.get_org_access_token)
    update_org_access_token = Operation(acc.update_org_access_token)
    delete_org_access_token = Operation(acc.delete_org_access_token)
    # users
    me = Operation(acc.me)
    update_profile = Operation(acc.update_profile)
    get_user = Operation(acc.get_user)
    user_repositories = Operation(acc.user_repositories)
    starred_repositories = ListOperation(acc.starred_repositories)
    registry_settings = Operation(acc.registry_settings)
    set_private_repo_limit = Operation(acc.set_private_repo_limit)
    # organisations, members, groups, invites
    list_my_orgs = ListOperation(acc.list_my_orgs)
    get_org = Operation(acc.get_org)
    create_org = Operation(acc.create_org)
    update_org = Operation(acc.update_org)
    delete_org = Operation(acc.delete_org)
    list_members = ListOperation(acc.list_members)
    export_members = Operation(acc.export_members)
    set_member_role = Operation(acc.set_member_role)
    remove_member = Operation(acc.remove_member)
    list_groups = ListOperation(acc.list_groups)
    get_group = Operation(acc.get_group)
    create_group = Operation(acc.create_group)
    update_group = Operation(acc.update_group)
    replace_group = Operation(acc.replace_group)
    delete_group = Operation(acc.delete_group)
    list_group_members = ListOperation(acc.list_group_members)
    add_group_member = Operation(acc.add_group_member)
    remove_group_member = Operation(acc.remove_group_member)
    invite = Operation(acc.invite)
    list_invites = Operation(acc.list_invites)
    my_invites = Operation(acc.my_invites)
    cancel_invite = Operation(acc.cancel_invite)
    resend_invite = Operation(acc.resend_invite)
    accept_invite = Operation(acc.accept_invite)
    decline_invite = Operation(acc.decline_invite)
    # repositories
    list_repositories = ListOperation(rep.list_repositories)
    get_repository = Operation(rep.get_repository)
    repository_exists = Operation(rep.repository_exists)
    create_repository = Operation(rep.create_repository)
    update_repository = Operation(rep.update_repository)
    set_privacy = Operation(rep.set_privacy)
    delete_repository = Operation(rep.delete_repository)
    set_immutable_tags = Operation(rep.set_immutable_tags)
    verify_immutable_tags = Operation(rep.verify_immutable_tags)
    star = Operation(rep.star)
    unstar = Operation(rep.unstar)
    # tags and images
    list_tags = ListOperation(rep.list_tags)
    get_tag = Operation(rep.get_tag)
    tag_exists = Operation(rep.tag_exists)
    delete_tag = Operation(rep.delete_tag)
    has_tags = Operation(rep.has_tags)
    images_summary = Operation(rep.images_summary)
    list_images = ListOperation(rep.list_images)
    image_tags = ListOperation(rep.image_tags)
    delete_images = Operation(rep.delete_images)
    # community
    list_comments = ListOperation(rep.list_comments)
    add_comment = Operation(rep.add_comment)
    edit_comment = Operation(rep.edit_comment)
    delete_comment = Operation(rep.delete_comment)
    list_collaborators = ListOperation(rep.list_collaborators)
    add_collaborator = Operation(rep.add_collaborator)
    remove_collaborator = Operation(rep.remove_collaborator)
    list_repository_groups = ListOperation(rep.list_repository_groups)
    grant_group = Operation(rep.grant_group)
    revoke_group = Operation(rep.revoke_group)
    search = ListOperation(rep.search)
    search_v1 = Operation(rep.search_v1)
    audit_logs = ListOperation(rep.audit_logs)
    audit_actions = Operation(rep.audit_actions)
    # webhooks
    list_webhooks = ListOperation(rep.list_webhooks)
    create_webhook = Operation(rep.create_webhook)
    get_webhook = Operation(rep.get_webhook)
    delete_webhook = Operation(rep.delete_webhook)
    add_hook = Operation(rep.add_hook)
    remove_hook = Operation(rep.remove_hook)
    list_deliveries = ListOperation(rep.list_deliveries)
    redeliver = Operation(rep.redeliver)
    report_webhook_callback = Operation(rep.report_webhook_callback)
    # automated builds
    get_autobuild = Operation(rep.get_autobuild)
    create_autobuild = Operation(rep.create_autobuild)
    delete_autobuild = Operation(rep.delete_autobuild)
    add_build_tag = Operation(rep.add_build_tag)
    update_build_tag = Operation(rep.update_build_tag)
    delete_build_tag = Operation(rep.delete_build_tag)
    trigger_build = Operation(rep.trigger_build)
    list_builds = ListOperation(rep.list_builds)
    get_build = Operation(rep.get_build)
    get_build_trigger = Operation(rep.get_build_trigger)
    update_build_trigger = Operation(rep.update_build_trigger)
    list_trigger_history = ListOperation(rep.list_trigger_history)
    call_build_trigger = Operation(rep.call_build_trigger)
    list_build_links = ListOperation(rep.list_build_links)
    add_build_link = Operation(rep.add_build_link)
    delete_build_link = Operation(rep.delete_build_link)
    send_registry_events = Operation(rep.send_registry_events)
    # v1 API, and any other request
    v1_check_credentials = Operation(rep.v1_check_credentials)
    v1_update_user = Operation(rep.v1_update_user)
    request = Operation(rep.request)
    # DVP Data API
    analytics_discovery = Operation(dvp.analytics_discovery)
    analytics_namespaces = Operation(dvp.analytics_namespaces)
    analytics_namespace = Operation(dvp.analytics_namespace)
    namespace_pulls = Operation(dvp.namespace_pulls)
    repository_pulls = Operation(dvp.repository_pulls)
    repositories_pulls = Operation(dvp.repositories_pulls)
    export_years = Operation(dvp.export_years)
    export_timespans = Operation(dvp.export_timespans)
    export_timespan = Operation(dvp.export_timespan)
    export_files = Operation(dvp.export_files)
    download = Operation(dvp.download)
    download_export = Operation(dvp.download_export)
    # registry
    registry_token = Operation(reg.registry_token)
    resolve = Operation(reg.resolve)
    get_manifest = Operation(reg.get_manifest)
    delete_manifest = Operation(reg.delete_manifest)
    registry_tags = Operation(reg.registry_tags)
    pull_limits = Operation(reg.pull_limits)
