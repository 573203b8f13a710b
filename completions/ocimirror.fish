# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_ocimirror_global_optspecs
    string join \n json q/quiet v/verbose cache-dir= cache= no-cache verify-cache fresh h/help V/version
end

function __fish_ocimirror_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_ocimirror_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_ocimirror_using_subcommand
    set -l cmd (__fish_ocimirror_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c ocimirror -n "__fish_ocimirror_needs_command" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_needs_command" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_needs_command" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "pull" -d 'Pull images into an OCI image layout, or into one archive'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "inspect" -d 'Show an image: digest, media type, platform, created, labels, layers'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "lock" -d 'Resolve references and record their digests in a lock file, or check one'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "resolve" -d 'Find which source serves a reference and its digest, without pulling layers'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "ls" -d 'List the images in an OCI layout, with their digests and sources'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "export" -d 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "mirrors" -d 'Show the sources a reference would be pulled from, and where each was configured'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "cache" -d 'Show the blob cache\'s size, or prune it'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "verify" -d 'Re-hash every blob of a layout and check every reference of every image in it'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "gc" -d 'Remove blobs no image in the layout refers to, and stale partial and temporary files'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c ocimirror -n "__fish_ocimirror_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s f -l file -d 'Read references from FILE, one per line (# comments, blank lines); - for stdin' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l locked -d 'Pull exactly the digests a lock file records (see `ocimirror lock`)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s o -l output -d 'The OCI layout directory to write into (created if missing); a path ending in .tar, or - for stdout, is one archive that docker load, podman load and ctr images import read' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l platform -d 'Platform to pull from a multi-platform image [default: this machine\'s]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l format -d '`preserve`: manifests byte for byte as served; `oci`: rewrite Docker manifests as OCI (new manifest digests, same layers) for tools that read only OCI media types, such as skopeo\'s oci: transport' -r -f -a "preserve\t''
oci\t''"
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s j -l jobs -d 'Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several); blobs under 256 KiB, up to 8 times as many at once [default: 8]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l all-platforms -d 'Keep the whole multi-platform index, every platform'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l dry-run -d 'Print the plan (sources and URLs, in order) without touching the network'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l force -d 'Make -o a layout even when it is a directory that holds other files'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand pull" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l platform -d 'Platform to show of a multi-platform image [default: this machine\'s]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand inspect" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s f -l file -d 'Read references from FILE, one per line (# comments, blank lines); - for stdin' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s o -l output -d 'The lock file to write' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l check -d 'Check this lock file instead: which tags now point elsewhere (exit 6 when some do)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l platform -d 'Platform to lock from a multi-platform image [default: this machine\'s]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l all-platforms -d 'Lock the whole multi-platform index'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand lock" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l dry-run -d 'Print the plan (sources and URLs, in order) without touching the network'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand resolve" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand ls" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -s o -l output -d 'The archive to write, or `-` for stdout; a file appears only when complete' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand export" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -a "check" -d 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -a "forget" -d 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and not __fish_seen_subcommand_from check forget help" -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l mirror -d 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l config -d 'Configuration file [default: ~/.config/ocimirror/config.toml]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l hosts-dir -d 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l registries-conf -d 'Read mirrors from a containers registries.conf (podman, CRI-O)' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l creds -d 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l authfile -d 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman\'s auth.json; then docker\'s config.json]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l connect-timeout -d 'Seconds to wait for a connection [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l response-timeout -d 'Seconds to wait for a response\'s headers [default: 5]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l stall-timeout -d 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l speed-limit -d 'Bytes per second a blob download must average over --stall-timeout [default: 32768]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l split-threshold -d 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l body-timeout -d 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l tries -d 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l retries -d 'The old name of --tries, with the same meaning (requests, not retries)' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l only-mirrors -d 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l no-mirrors -d 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l no-fallback -d 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l require-confirmed -d 'Fail when a mirror\'s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from forget" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from help" -f -a "check" -d 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from help" -f -a "forget" -d 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand mirrors; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -f -a "prune" -d 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and not __fish_seen_subcommand_from prune help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l max-size -d 'Then remove the least recently used blobs until the cache fits in this size, e.g. 10G, 500M' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l older-than -d 'Remove blobs not used for this long, e.g. 30d, 12h, 90m' -r
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from prune" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "prune" -d 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand verify" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l dry-run -d 'Say what would be removed, and remove nothing'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand gc" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l cache-dir -d 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l cache -d 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]' -r -F
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l json -d 'Print results as JSON on stdout (one object; see docs/json.md)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -s q -l quiet -d 'No progress and no messages except errors and warnings'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -s v -l verbose -d 'More log output on stderr (-v: each request, -vv: debug)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l no-cache -d 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l verify-cache -d 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -l fresh -d 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -s h -l help -d 'Print help'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand completions" -s V -l version -d 'Print version'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "pull" -d 'Pull images into an OCI image layout, or into one archive'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "inspect" -d 'Show an image: digest, media type, platform, created, labels, layers'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "lock" -d 'Resolve references and record their digests in a lock file, or check one'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "resolve" -d 'Find which source serves a reference and its digest, without pulling layers'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "ls" -d 'List the images in an OCI layout, with their digests and sources'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "export" -d 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "mirrors" -d 'Show the sources a reference would be pulled from, and where each was configured'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "cache" -d 'Show the blob cache\'s size, or prune it'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "verify" -d 'Re-hash every blob of a layout and check every reference of every image in it'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "gc" -d 'Remove blobs no image in the layout refers to, and stale partial and temporary files'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "completions" -d 'Print a shell completion script to stdout'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and not __fish_seen_subcommand_from pull inspect lock resolve ls export mirrors cache verify gc completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and __fish_seen_subcommand_from mirrors" -f -a "check" -d 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and __fish_seen_subcommand_from mirrors" -f -a "forget" -d 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
complete -c ocimirror -n "__fish_ocimirror_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "prune" -d 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
