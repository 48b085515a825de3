#!/bin/sh
# The java runtime's build steps, run by the function image's build stage (Dockerfile.tmpl) in
# hearth/java-build:17, and by runtimes/java_test.go with the machine's JDK. The shim's sources
# are in $HEARTH_OUT/shim, the function's in $HEARTH_SRC.
#
#   build.sh shim        compile the shim into $HEARTH_OUT/hearth.jar
#   build.sh function    compile the function into $HEARTH_OUT/function.jar, write the class
#                        path to $HEARTH_OUT/app.args and check the handler class ($HEARTH_HANDLER)
set -eu

hearth=${HEARTH_OUT:-/opt/hearth}
src=${HEARTH_SRC:-/function}

case "${1:-}" in
shim)
	find "$hearth/shim" -name '*.java' | LC_ALL=C sort | sed 's/.*/"&"/' > "$hearth/shim-sources"
	javac --release 17 -encoding UTF-8 -nowarn -d "$hearth/classes/shim" "@$hearth/shim-sources"
	jar --create --file "$hearth/hearth.jar" -C "$hearth/classes/shim" .
	rm -rf "$hearth/classes/shim" "$hearth/shim-sources"
	;;
function)
	cd "$src"
	rm -rf .hearth
	# The class path lists the jars one by one, in name order, not lib/*: the class data sharing
	# archive the final stage records is only used when the class path is the same at every start.
	classpath="$hearth/hearth.jar:$hearth/function.jar"
	for jar in lib/*.jar; do
		if [ -f "$jar" ]; then
			classpath="$classpath:$src/$jar"
		fi
	done
	mkdir -p "$hearth/classes/function"
	# Every .java file but those under lib/, whatever its folder. Quoted, one a line: javac's
	# argument files split on spaces otherwise.
	find . -name '*.java' -not -path './lib/*' | LC_ALL=C sort | sed 's/.*/"&"/' > "$hearth/sources"
	if [ -s "$hearth/sources" ]; then
		echo "compiling $(wc -l < "$hearth/sources") .java file(s) with the class path $classpath"
		javac --release 17 -encoding UTF-8 -parameters -cp "$classpath" -d "$hearth/classes/function" "@$hearth/sources"
	fi
	if [ -d resources ]; then
		cp -R resources/. "$hearth/classes/function/"
	fi
	jar --create --file "$hearth/function.jar" -C "$hearth/classes/function" .
	printf -- '-cp\n"%s"\nhearth.Shim\n' "$classpath" > "$hearth/app.args"
	rm -rf "$hearth/classes" "$hearth/sources" "$hearth/shim"
	java "@$hearth/app.args" --check
	;;
*)
	echo "usage: build.sh shim|function" >&2
	exit 2
	;;
esac
