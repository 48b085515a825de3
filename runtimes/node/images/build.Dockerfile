# hearth/node-build:18, the build image of the node runtime: the run image (so both have the very
# same Node.js) plus npm. Function builds run `npm ci` / `npm install` here; nothing of this image
# reaches a function image but the installed node_modules. `hearth images bootstrap` builds the
# run image first.
FROM hearth/node:18
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=node
RUN apt-get update \
 && apt-get install -y --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
# No update checks, no funding or audit chatter, no cache left in the image layers.
ENV NPM_CONFIG_UPDATE_NOTIFIER=false NPM_CONFIG_FUND=false NPM_CONFIG_AUDIT=false \
    NPM_CONFIG_CACHE=/tmp/npm-cache NPM_CONFIG_LOGLEVEL=warn
CMD ["node"]
