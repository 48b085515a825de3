# hearth/python:3.11, the run image of the python runtime: Debian bookworm's Python 3.11 and
# nothing else (no pip, no compiler). Function images are FROM it; the function's dependencies
# are installed in the build image and copied in.
FROM hearth/debian:bookworm
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
CMD ["python3"]
