# hearth/python-build:3.11, the build image of the python runtime: the run image (so both have
# the very same Python) plus pip, setuptools and wheel (to build a vendored source distribution)
# and venv. Function builds run `pip install --target` here; nothing of this image reaches a
# function image but the installed packages. `hearth images bootstrap` builds the run image first.
FROM hearth/python:3.11
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=python
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3-pip python3-setuptools python3-wheel python3-venv \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb
# Debian marks its Python as externally managed (PEP 668); builds install into a --target
# folder, never into the system, so the marker is only in the way.
ENV PIP_BREAK_SYSTEM_PACKAGES=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
CMD ["python3"]
