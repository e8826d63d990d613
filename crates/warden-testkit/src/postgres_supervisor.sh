# Supervises one throwaway PostgreSQL server for warden-testkit (run with `sh -c`).
#   $1      the cluster directory, removed once the server has exited
#   $2...   the server command line
# Standard input is a pipe whose only writer is the test process. It reaches end-of-file when the
# PgCluster is dropped *or* when the test process exits for any reason (normal exit, panic=abort,
# SIGKILL), so the same path stops the server in every case: SIGQUIT is PostgreSQL's immediate
# shutdown, which still removes postmaster.pid and the shared memory segments.
dir=$1
shift
"$@" &
server=$!
# Ignore the terminal's signals from here on (the server, started above, keeps its own handlers):
# after a Ctrl-C the server shuts itself down and this script must still remove the directory.
trap '' HUP INT TERM QUIT
# An asynchronous list's standard input is /dev/null, so the watcher reads the pipe through fd 3.
exec 3<&0
{
    while read -r _ <&3; do :; done
    kill -QUIT "$server" 2>/dev/null
} &
watcher=$!
exec 3<&-
wait "$server"
status=$?
kill -KILL "$watcher" 2>/dev/null
rm -rf "$dir"
exit "$status"
