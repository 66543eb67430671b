// Preloaded with `node --require ./hub-redirect.js app.js`: points the npm `docker-hub-api` package, whose base URL
// is hard-coded to https://hub.docker.com, at DOCKER_HUB_API_BASE (e.g. http://127.0.0.1:5000), without touching
// the application. The package builds every URL in its own makeRequestParams(), so wrapping that one function on
// the exported object is enough; hooking Module._load does it whenever and wherever the package is first required.
'use strict';

const Module = require('module');

const BASE = (process.env.DOCKER_HUB_API_BASE || '').replace(/\/+$/, '');
if (!BASE) {
  throw new Error('hub-redirect.js: set DOCKER_HUB_API_BASE to the server to use instead of https://hub.docker.com');
}

const patched = new WeakSet();

function redirect(hub) {
  if (!hub || typeof hub.makeRequestParams !== 'function' || patched.has(hub)) {
    return hub;
  }
  const original = hub.makeRequestParams;
  hub.makeRequestParams = function (method, path, data) {
    const params = original.call(this, method, path, data);
    params.url = params.url.replace(/^https:\/\/hub\.docker\.com(?=\/)/, BASE);
    return params;
  };
  patched.add(hub);
  return hub;
}

const load = Module._load;
Module._load = function (request, parent, isMain) {
  const exported = load.apply(this, arguments);
  return request === 'docker-hub-api' ? redirect(exported) : exported;
};
