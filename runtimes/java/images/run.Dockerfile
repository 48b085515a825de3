# hearth/java:17, the run image of the java runtime: hearth/debian:bookworm and the Java runtime
# jlinked from Debian bookworm's OpenJDK 17 in hearth/java-build:17 (which `hearth images
# bootstrap` builds first; see build.Dockerfile for what it holds). No compiler, no pip-like
# tool: function images get their jars from the build stage. Java classes only: AWT fonts and
# image codecs need native libraries this image lacks.
FROM hearth/debian:bookworm
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=java
COPY --from=hearth/java-build:17 /opt/hearth-jre /opt/java
ENV JAVA_HOME=/opt/java PATH=/opt/java/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["java", "-version"]
