
use builtin;
use str;

set edit:completion:arg-completer[ocimirror] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'ocimirror'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'ocimirror'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand pull 'Pull images into an OCI image layout, or into one archive'
            cand inspect 'Show an image: digest, media type, platform, created, labels, layers'
            cand lock 'Resolve references and record their digests in a lock file, or check one'
            cand resolve 'Find which source serves a reference and its digest, without pulling layers'
            cand ls 'List the images in an OCI layout, with their digests and sources'
            cand export 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import'
            cand mirrors 'Show the sources a reference would be pulled from, and where each was configured'
            cand cache 'Show the blob cache''s size, or prune it'
            cand verify 'Re-hash every blob of a layout and check every reference of every image in it'
            cand gc 'Remove blobs no image in the layout refers to, and stale partial and temporary files'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;pull'= {
            cand -f 'Read references from FILE, one per line (# comments, blank lines); - for stdin'
            cand --file 'Read references from FILE, one per line (# comments, blank lines); - for stdin'
            cand --locked 'Pull exactly the digests a lock file records (see `ocimirror lock`)'
            cand -o 'The OCI layout directory to write into (created if missing); a path ending in .tar, or - for stdout, is one archive that docker load, podman load and ctr images import read'
            cand --output 'The OCI layout directory to write into (created if missing); a path ending in .tar, or - for stdout, is one archive that docker load, podman load and ctr images import read'
            cand --platform 'Platform to pull from a multi-platform image [default: this machine''s]'
            cand --format '`preserve`: manifests byte for byte as served; `oci`: rewrite Docker manifests as OCI (new manifest digests, same layers) for tools that read only OCI media types, such as skopeo''s oci: transport'
            cand -j 'Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several); blobs under 256 KiB, up to 8 times as many at once [default: 8]'
            cand --jobs 'Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several); blobs under 256 KiB, up to 8 times as many at once [default: 8]'
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --all-platforms 'Keep the whole multi-platform index, every platform'
            cand --dry-run 'Print the plan (sources and URLs, in order) without touching the network'
            cand --force 'Make -o a layout even when it is a directory that holds other files'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;inspect'= {
            cand --platform 'Platform to show of a multi-platform image [default: this machine''s]'
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;lock'= {
            cand -f 'Read references from FILE, one per line (# comments, blank lines); - for stdin'
            cand --file 'Read references from FILE, one per line (# comments, blank lines); - for stdin'
            cand -o 'The lock file to write'
            cand --output 'The lock file to write'
            cand --check 'Check this lock file instead: which tags now point elsewhere (exit 6 when some do)'
            cand --platform 'Platform to lock from a multi-platform image [default: this machine''s]'
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --all-platforms 'Lock the whole multi-platform index'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;resolve'= {
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --dry-run 'Print the plan (sources and URLs, in order) without touching the network'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;ls'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;export'= {
            cand -o 'The archive to write, or `-` for stdout; a file appears only when complete'
            cand --output 'The archive to write, or `-` for stdout; a file appears only when complete'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;mirrors'= {
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand check 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
            cand forget 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;mirrors;check'= {
            cand --mirror 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url'
            cand --config 'Configuration file [default: ~/.config/ocimirror/config.toml]'
            cand --hosts-dir 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d'
            cand --registries-conf 'Read mirrors from a containers registries.conf (podman, CRI-O)'
            cand --creds 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)'
            cand --authfile 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]'
            cand --connect-timeout 'Seconds to wait for a connection [default: 3]'
            cand --response-timeout 'Seconds to wait for a response''s headers [default: 5]'
            cand --stall-timeout 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]'
            cand --speed-limit 'Bytes per second a blob download must average over --stall-timeout [default: 32768]'
            cand --split-threshold 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]'
            cand --body-timeout 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]'
            cand --tries 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]'
            cand --retries 'The old name of --tries, with the same meaning (requests, not retries)'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --only-mirrors 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)'
            cand --no-mirrors 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry'
            cand --no-fallback 'Never fall back to the registry itself: mirrors only (air-gapped sites)'
            cand --require-confirmed 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;mirrors;forget'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;mirrors;help'= {
            cand check 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
            cand forget 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;mirrors;help;check'= {
        }
        &'ocimirror;mirrors;help;forget'= {
        }
        &'ocimirror;mirrors;help;help'= {
        }
        &'ocimirror;cache'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
            cand prune 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;cache;prune'= {
            cand --max-size 'Then remove the least recently used blobs until the cache fits in this size, e.g. 10G, 500M'
            cand --older-than 'Remove blobs not used for this long, e.g. 30d, 12h, 90m'
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;cache;help'= {
            cand prune 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;cache;help;prune'= {
        }
        &'ocimirror;cache;help;help'= {
        }
        &'ocimirror;verify'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;gc'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --dry-run 'Say what would be removed, and remove nothing'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;completions'= {
            cand --cache-dir 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]'
            cand --cache 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]'
            cand --json 'Print results as JSON on stdout (one object; see docs/json.md)'
            cand -q 'No progress and no messages except errors and warnings'
            cand --quiet 'No progress and no messages except errors and warnings'
            cand -v 'More log output on stderr (-v: each request, -vv: debug)'
            cand --verbose 'More log output on stderr (-v: each request, -vv: debug)'
            cand --no-cache 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)'
            cand --verify-cache 'Re-hash a cached blob before linking it into the layout (its size is always checked)'
            cand --fresh 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)'
            cand -h 'Print help'
            cand --help 'Print help'
            cand -V 'Print version'
            cand --version 'Print version'
        }
        &'ocimirror;help'= {
            cand pull 'Pull images into an OCI image layout, or into one archive'
            cand inspect 'Show an image: digest, media type, platform, created, labels, layers'
            cand lock 'Resolve references and record their digests in a lock file, or check one'
            cand resolve 'Find which source serves a reference and its digest, without pulling layers'
            cand ls 'List the images in an OCI layout, with their digests and sources'
            cand export 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import'
            cand mirrors 'Show the sources a reference would be pulled from, and where each was configured'
            cand cache 'Show the blob cache''s size, or prune it'
            cand verify 'Re-hash every blob of a layout and check every reference of every image in it'
            cand gc 'Remove blobs no image in the layout refers to, and stale partial and temporary files'
            cand completions 'Print a shell completion script to stdout'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'ocimirror;help;pull'= {
        }
        &'ocimirror;help;inspect'= {
        }
        &'ocimirror;help;lock'= {
        }
        &'ocimirror;help;resolve'= {
        }
        &'ocimirror;help;ls'= {
        }
        &'ocimirror;help;export'= {
        }
        &'ocimirror;help;mirrors'= {
            cand check 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference'
            cand forget 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host'
        }
        &'ocimirror;help;mirrors;check'= {
        }
        &'ocimirror;help;mirrors;forget'= {
        }
        &'ocimirror;help;cache'= {
            cand prune 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)'
        }
        &'ocimirror;help;cache;prune'= {
        }
        &'ocimirror;help;verify'= {
        }
        &'ocimirror;help;gc'= {
        }
        &'ocimirror;help;completions'= {
        }
        &'ocimirror;help;help'= {
        }
    ]
    $completions[$command]
}
