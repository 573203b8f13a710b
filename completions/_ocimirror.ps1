
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'ocimirror' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'ocimirror'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'ocimirror' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull images into an OCI image layout, or into one archive')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show an image: digest, media type, platform, created, labels, layers')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Resolve references and record their digests in a lock file, or check one')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Find which source serves a reference and its digest, without pulling layers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the images in an OCI layout, with their digests and sources')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import')
            [CompletionResult]::new('mirrors', 'mirrors', [CompletionResultType]::ParameterValue, 'Show the sources a reference would be pulled from, and where each was configured')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Show the blob cache''s size, or prune it')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every blob of a layout and check every reference of every image in it')
            [CompletionResult]::new('gc', 'gc', [CompletionResultType]::ParameterValue, 'Remove blobs no image in the layout refers to, and stale partial and temporary files')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;pull' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read references from FILE, one per line (# comments, blank lines); - for stdin')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read references from FILE, one per line (# comments, blank lines); - for stdin')
            [CompletionResult]::new('--locked', '--locked', [CompletionResultType]::ParameterName, 'Pull exactly the digests a lock file records (see `ocimirror lock`)')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The OCI layout directory to write into (created if missing); a path ending in .tar, or - for stdout, is one archive that docker load, podman load and ctr images import read')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The OCI layout directory to write into (created if missing); a path ending in .tar, or - for stdout, is one archive that docker load, podman load and ctr images import read')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform to pull from a multi-platform image [default: this machine''s]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, '`preserve`: manifests byte for byte as served; `oci`: rewrite Docker manifests as OCI (new manifest digests, same layers) for tools that read only OCI media types, such as skopeo''s oci: transport')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several); blobs under 256 KiB, up to 8 times as many at once [default: 8]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Connections for large blobs, 1 to 64 (a blob fetched in ranges uses several); blobs under 256 KiB, up to 8 times as many at once [default: 8]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--all-platforms', '--all-platforms', [CompletionResultType]::ParameterName, 'Keep the whole multi-platform index, every platform')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (sources and URLs, in order) without touching the network')
            [CompletionResult]::new('--force', '--force', [CompletionResultType]::ParameterName, 'Make -o a layout even when it is a directory that holds other files')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;inspect' {
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform to show of a multi-platform image [default: this machine''s]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;lock' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'Read references from FILE, one per line (# comments, blank lines); - for stdin')
            [CompletionResult]::new('--file', '--file', [CompletionResultType]::ParameterName, 'Read references from FILE, one per line (# comments, blank lines); - for stdin')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The lock file to write')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The lock file to write')
            [CompletionResult]::new('--check', '--check', [CompletionResultType]::ParameterName, 'Check this lock file instead: which tags now point elsewhere (exit 6 when some do)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform to lock from a multi-platform image [default: this machine''s]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--all-platforms', '--all-platforms', [CompletionResultType]::ParameterName, 'Lock the whole multi-platform index')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;resolve' {
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (sources and URLs, in order) without touching the network')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;ls' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;export' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The archive to write, or `-` for stdout; a file appears only when complete')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The archive to write, or `-` for stdout; a file appears only when complete')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;mirrors' {
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;mirrors;check' {
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--creds', '--creds', [CompletionResultType]::ParameterName, 'Credentials for the registry named in the reference (never sent to a mirror, unless its host says `credentials = "authority"`)')
            [CompletionResult]::new('--authfile', '--authfile', [CompletionResultType]::ParameterName, 'Read credentials from this file only (an auth.json or a docker config.json), as podman --authfile [default: $REGISTRY_AUTH_FILE, else podman''s auth.json; then docker''s config.json]')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--split-threshold', '--split-threshold', [CompletionResultType]::ParameterName, 'Blobs of at least this many bytes may be fetched in ranges over several connections when one would be slow [default: 33554432]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--tries', '--tries', [CompletionResultType]::ParameterName, 'Requests per source before moving on, for failures worth another try (5xx, 408, 429, cut connections): 1 is a single try, 1 to 100 [default: 3]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'The old name of --tries, with the same meaning (requests, not retries)')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--only-mirrors', '--only-mirrors', [CompletionResultType]::ParameterName, 'Use only the --mirror URLs: ignore the mirrors of config files, hosts directories, registries.conf and OCIMIRROR_MIRRORS (the registry is still the fallback, unless --no-fallback)')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;mirrors;forget' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;mirrors;help' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;mirrors;help;check' {
            break
        }
        'ocimirror;mirrors;help;forget' {
            break
        }
        'ocimirror;mirrors;help;help' {
            break
        }
        'ocimirror;cache' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;cache;prune' {
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Then remove the least recently used blobs until the cache fits in this size, e.g. 10G, 500M')
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Remove blobs not used for this long, e.g. 30d, 12h, 90m')
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;cache;help' {
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;cache;help;prune' {
            break
        }
        'ocimirror;cache;help;help' {
            break
        }
        'ocimirror;verify' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;gc' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Say what would be removed, and remove nothing')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;completions' {
            [CompletionResult]::new('--cache-dir', '--cache-dir', [CompletionResultType]::ParameterName, 'Directory for host memory (hosts.json) and the blob cache (blobs/) [default: $XDG_CACHE_HOME/ocimirror, else ~/.cache/ocimirror]')
            [CompletionResult]::new('--cache', '--cache', [CompletionResultType]::ParameterName, 'The shared blob cache layouts get their blobs from [default: <cache dir>/blobs]')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object; see docs/json.md)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress and no messages except errors and warnings')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--no-cache', '--no-cache', [CompletionResultType]::ParameterName, 'Use no blob cache: blobs are downloaded into the layout alone (partial downloads in its .ocimirror/partial, removed on Ctrl-C)')
            [CompletionResult]::new('--verify-cache', '--verify-cache', [CompletionResultType]::ParameterName, 'Re-hash a cached blob before linking it into the layout (its size is always checked)')
            [CompletionResult]::new('--fresh', '--fresh', [CompletionResultType]::ParameterName, 'Ignore host memory for this run: ask every source as if for the first time (what the run learns is still remembered)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;help' {
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull images into an OCI image layout, or into one archive')
            [CompletionResult]::new('inspect', 'inspect', [CompletionResultType]::ParameterValue, 'Show an image: digest, media type, platform, created, labels, layers')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Resolve references and record their digests in a lock file, or check one')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Find which source serves a reference and its digest, without pulling layers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the images in an OCI layout, with their digests and sources')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import')
            [CompletionResult]::new('mirrors', 'mirrors', [CompletionResultType]::ParameterValue, 'Show the sources a reference would be pulled from, and where each was configured')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Show the blob cache''s size, or prune it')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every blob of a layout and check every reference of every image in it')
            [CompletionResult]::new('gc', 'gc', [CompletionResultType]::ParameterValue, 'Remove blobs no image in the layout refers to, and stale partial and temporary files')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'ocimirror;help;pull' {
            break
        }
        'ocimirror;help;inspect' {
            break
        }
        'ocimirror;help;lock' {
            break
        }
        'ocimirror;help;resolve' {
            break
        }
        'ocimirror;help;ls' {
            break
        }
        'ocimirror;help;export' {
            break
        }
        'ocimirror;help;mirrors' {
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference')
            [CompletionResult]::new('forget', 'forget', [CompletionResultType]::ParameterValue, 'Forget what earlier runs learned about a host (an endpoint URL or host[:port]), or about every host')
            break
        }
        'ocimirror;help;mirrors;check' {
            break
        }
        'ocimirror;help;mirrors;forget' {
            break
        }
        'ocimirror;help;cache' {
            [CompletionResult]::new('prune', 'prune', [CompletionResultType]::ParameterValue, 'Remove cached blobs and stale partial downloads (partials untouched for a day always; without options, blobs unused for 30 days)')
            break
        }
        'ocimirror;help;cache;prune' {
            break
        }
        'ocimirror;help;verify' {
            break
        }
        'ocimirror;help;gc' {
            break
        }
        'ocimirror;help;completions' {
            break
        }
        'ocimirror;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
