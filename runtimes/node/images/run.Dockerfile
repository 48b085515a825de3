# hearth/node:18, the run image of the node runtime: Debian bookworm's Node.js 18 and nothing
# else (no npm, no compiler). Function images are FROM it; the function's node_modules are
# installed in the build image and copied in.
FROM hearth/debian:bookworm
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=node
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
ENV NODE_ENV=production
CMD ["node"]
