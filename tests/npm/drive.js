// Calls every method of the npm `docker-hub-api` package against a Dockyard server (run with
// `node --require ./hub-redirect.js drive.js`; tests/e2e/test_npm_client.py does) and prints one JSON object:
// {method: {ok: true, result} | {ok: false, error}}, in call order. The test seeds the server first and checks the
// effect of each call on the server afterwards.
//
// Input (environment): DRIVE_CONFIG, a JSON object {user, password, collaborator, repo, doomed, made, hook_url, source_url,
// library_repo (a bare name, which the package turns into library/NAME)}.
// Not called: setRepositoryPrivacy, which always rejects inside the package ("descriptions is not defined").
'use strict';

const hub = require('docker-hub-api');

const cfg = JSON.parse(process.env.DRIVE_CONFIG);
// The user name is given in upper case on purpose: the package lower-cases it, except in
// setRepositoryDescription and saveBuildTag, which get it as is (`user`).
const USER = cfg.user.toUpperCase();
const user = cfg.user;
const { repo, made, doomed, collaborator } = cfg;
const out = {};

async function call(name, fn) {
  try {
    const result = await fn();
    out[name] = { ok: true, result: result === undefined ? null : result };
  } catch (err) {
    out[name] = { ok: false, error: String(err && err.message ? err.message : err) };
  }
  return out[name].ok ? out[name].result : undefined;
}

async function main() {
  // The package caches GET responses for 300 s; this script reads after writing, so it must see fresh answers.
  hub.setCacheOptions({ enabled: false });

  await call('login', () => hub.login(cfg.user, cfg.password));
  await call('loggedInUser', () => hub.loggedInUser());
  await call('user', () => hub.user(USER));
  await call('registrySettings', () => hub.registrySettings());

  await call('createRepository', () =>
    hub.createRepository(USER, made, { is_private: false, description: 'made by npm', full_description: '# Made' }),
  );
  await call('repository', () => hub.repository(USER, repo));
  await call('repositories', () => hub.repositories(USER));
  await call('setRepositoryDescription', () =>
    hub.setRepositoryDescription(user, repo, { short: 'short from npm', full: 'full from npm' }),
  );
  await call('deleteRepository', () => hub.deleteRepository(USER, doomed));

  await call('tags', () => hub.tags(USER, repo, { page: 1, perPage: 10 }));
  await call('deleteTag', () => hub.deleteTag(USER, repo, 'v2'));

  await call('starRepository', () => hub.starRepository(USER, repo));
  await call('starRepository:made', () => hub.starRepository(USER, made));
  await call('unstarRepository', () => hub.unstarRepository(USER, made));
  await call('repositoriesStarred', () => hub.repositoriesStarred(USER, { page: 1, perPage: 10 }));

  await call('comments', () => hub.comments(USER, repo));

  await call('addCollaborator', () => hub.addCollaborator(USER, repo, collaborator.toUpperCase()));
  await call('addCollaborator:made', () => hub.addCollaborator(USER, made, collaborator));
  await call('deleteCollaborator', () => hub.deleteCollaborator(USER, made, collaborator));
  await call('collaborators', () => hub.collaborators(USER, repo));

  const webhook = await call('createWebhook', () => hub.createWebhook(USER, repo, 'ci'));
  if (webhook) {
    await call('createWebhookHook', () => hub.createWebhookHook(USER, repo, webhook.id, cfg.hook_url));
  }
  const spare = await call('createWebhook:spare', () => hub.createWebhook(USER, repo, 'spare'));
  if (spare) {
    await call('deleteWebhook', () => hub.deleteWebhook(USER, repo, spare.id));
  }
  await call('webhooks', () => hub.webhooks(USER, repo));

  await call('createAutomatedBuild', () =>
    hub.createAutomatedBuild(USER, repo, { provider: 'git', source_url: cfg.source_url, build_tags: [] }),
  );
  await call('buildSettings', () => hub.buildSettings(USER, repo));
  const tag = await call('createBuildTag', () =>
    hub.createBuildTag(USER, repo, { name: 'edge', source_type: 'Branch', source_name: 'main' }),
  );
  if (tag) {
    await call('saveBuildTag', () =>
      hub.saveBuildTag(user, repo, tag.id, { name: 'nightly', source_type: 'Branch', source_name: 'develop' }),
    );
  }
  const extra = await call('createBuildTag:extra', () => hub.createBuildTag(USER, repo, { name: 'extra' }));
  if (extra) {
    await call('deleteBuildTag', () => hub.deleteBuildTag(USER, repo, extra.id));
  }
  await call('triggerBuild', () => hub.triggerBuild(USER, repo, { source_type: 'Branch', source_name: 'develop' }));
  const builds = await call('buildHistory', () => hub.buildHistory(USER, repo));
  if (builds && builds.length) {
    await call('buildDetails', () => hub.buildDetails(USER, repo, builds[0].build_code));
  }
  await call('buildTrigger', () => hub.buildTrigger(USER, repo));
  await call('buildTriggerHistory', () => hub.buildTriggerHistory(USER, repo));
  await call('createBuildLink', () => hub.createBuildLink(USER, repo, `${cfg.user}/${made}`));
  const spareLink = await call('createBuildLink:spare', () => hub.createBuildLink(USER, repo, cfg.library_repo));
  if (spareLink) {
    await call('deleteBuildLink', () => hub.deleteBuildLink(USER, repo, spareLink.id));
  }
  await call('buildLinks', () => hub.buildLinks(USER, repo));

  await call('logout', () => hub.logout());
  // Still holding the old token: after logout() the server must refuse it.
  await call('loggedInUser:afterLogout', () => hub.loggedInUser());

  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((err) => {
  process.stderr.write(String(err && err.stack ? err.stack : err) + '\n');
  process.exit(1);
});
