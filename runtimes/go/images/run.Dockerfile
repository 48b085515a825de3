# hearth/go-run:1, the run image of the go runtime: no files at all, only the settings every Go
# function image shares. Function images are FROM it and add the one static binary, so a
# deploy pays one COPY step for its final stage instead of one step per setting (each about
# 0.1 s with the classic builder).
FROM scratch
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=go
ENV PORT=8080
# Numeric: an image with no files has no /etc/passwd to look a name up in.
USER 65534:65534
EXPOSE 8080
ENTRYPOINT ["/function"]
