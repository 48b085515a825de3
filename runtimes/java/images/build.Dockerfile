# hearth/java-build:17, the build image of the java runtime: Debian bookworm's OpenJDK 17 JDK
# (javac, jar). Function builds compile the shim and the function's sources here; only the jars
# reach a function image.
#
# It also holds /opt/hearth-jre, the Java runtime the run image (run.Dockerfile) copies: jlinked
# from this JDK with the modules programs use at run time (java.se, the JDK's HTTP server,
# crypto providers, charsets, locales, JFR, jcmd) and none of the development tools. It is
# about a third of the size of Debian's openjdk-17-jre-headless with its dependencies (font,
# X11, sound and CUPS libraries, which a function has no use for) and starts as fast.
FROM hearth/debian:bookworm
LABEL hearth.owner=hearth hearth.role=base-image hearth.runtime=java
# --strip-java-debug-attributes, not --strip-debug: the latter needs objcopy, and Debian's native
# libraries are stripped already. The runtime trusts the same CAs as Debian's JDK, and
# -Xshare:dump writes its default class data sharing archive.
RUN apt-get update \
 && apt-get install -y --no-install-recommends openjdk-17-jdk-headless \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/cache/apt/archives/*.deb \
 && jlink --output /opt/hearth-jre --strip-java-debug-attributes --no-man-pages --no-header-files --compress=2 \
      --add-modules java.se,jdk.httpserver,jdk.crypto.ec,jdk.crypto.cryptoki,jdk.unsupported,jdk.zipfs,jdk.charsets,jdk.localedata,jdk.naming.dns,jdk.naming.rmi,jdk.net,jdk.nio.mapmode,jdk.random,jdk.sctp,jdk.security.auth,jdk.security.jgss,jdk.xml.dom,jdk.dynalink,jdk.management,jdk.management.agent,jdk.management.jfr,jdk.jfr,jdk.jcmd \
 && cp /etc/ssl/certs/java/cacerts /opt/hearth-jre/lib/security/cacerts \
 && /opt/hearth-jre/bin/java -Xshare:dump >/dev/null
CMD ["jshell"]
