
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
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('pull', 'pull', [CompletionResultType]::ParameterValue, 'Pull an image into an OCI image layout')
            [CompletionResult]::new('resolve', 'resolve', [CompletionResultType]::ParameterValue, 'Find which source serves a reference and its digest, without pulling layers')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List the images in an OCI layout, with their digests and sources')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Write images of an OCI layout as one archive for docker load, podman load and ctr images import')
            [CompletionResult]::new('mirrors', 'mirrors', [CompletionResultType]::ParameterValue, 'Show the sources a reference would be pulled from, and where each was configured')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print a shell completion script to stdout')
            break
        }
        'ocimirror;pull' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The OCI layout directory to write into (created if missing)')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The OCI layout directory to write into (created if missing)')
            [CompletionResult]::new('--platform', '--platform', [CompletionResultType]::ParameterName, 'Platform to pull from a multi-platform image [default: this machine''s]')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, '`preserve`: manifests byte for byte as served; `oci`: rewrite Docker manifests as OCI (new manifest digests, same layers) for tools that read only OCI media types, such as skopeo''s oci: transport')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Large blobs downloaded at once, 1 to 64; blobs under 256 KiB, up to twice as many [default: 8]')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Large blobs downloaded at once, 1 to 64; blobs under 256 KiB, up to twice as many [default: 8]')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--all-platforms', '--all-platforms', [CompletionResultType]::ParameterName, 'Keep the whole multi-platform index, every platform')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (sources and URLs, in order) without touching the network')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;resolve' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Print the plan (sources and URLs, in order) without touching the network')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;ls' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;export' {
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'The archive to write, or `-` for stdout; a file appears only when complete')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'The archive to write, or `-` for stdout; a file appears only when complete')
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;mirrors' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('check', 'check', [CompletionResultType]::ParameterValue, 'Probe each source: reachable, latency, TLS, auth, `ns` support, has the reference')
            break
        }
        'ocimirror;mirrors;check' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
        'ocimirror;completions' {
            [CompletionResult]::new('--config', '--config', [CompletionResultType]::ParameterName, 'Configuration file [default: ~/.config/ocimirror/config.toml]')
            [CompletionResult]::new('--mirror', '--mirror', [CompletionResultType]::ParameterName, 'Try this mirror first (repeatable, in order); also OCIMIRROR_MIRRORS=url,url')
            [CompletionResult]::new('--hosts-dir', '--hosts-dir', [CompletionResultType]::ParameterName, 'Read mirrors from a containerd hosts directory, e.g. /etc/containerd/certs.d')
            [CompletionResult]::new('--registries-conf', '--registries-conf', [CompletionResultType]::ParameterName, 'Read mirrors from a containers registries.conf (podman, CRI-O)')
            [CompletionResult]::new('--connect-timeout', '--connect-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a connection [default: 3]')
            [CompletionResult]::new('--response-timeout', '--response-timeout', [CompletionResultType]::ParameterName, 'Seconds to wait for a response''s headers [default: 5]')
            [CompletionResult]::new('--stall-timeout', '--stall-timeout', [CompletionResultType]::ParameterName, 'Seconds over which a blob download must average --speed-limit, else it is cut and continued from the next source [default: 30]')
            [CompletionResult]::new('--speed-limit', '--speed-limit', [CompletionResultType]::ParameterName, 'Bytes per second a blob download must average over --stall-timeout [default: 32768]')
            [CompletionResult]::new('--body-timeout', '--body-timeout', [CompletionResultType]::ParameterName, 'Seconds a manifest, token or error body may take in all, after its headers [default: 20]')
            [CompletionResult]::new('--retries', '--retries', [CompletionResultType]::ParameterName, 'Attempts per source for retryable failures (5xx, 408, 429, cut connections), 1 to 100 [default: 3]')
            [CompletionResult]::new('--no-mirrors', '--no-mirrors', [CompletionResultType]::ParameterName, 'Ignore every configured mirror (config files and OCIMIRROR_MIRRORS): go straight to the registry')
            [CompletionResult]::new('--no-fallback', '--no-fallback', [CompletionResultType]::ParameterName, 'Never fall back to the registry itself: mirrors only (air-gapped sites)')
            [CompletionResult]::new('--require-confirmed', '--require-confirmed', [CompletionResultType]::ParameterName, 'Fail when a mirror''s answer for a tag cannot be confirmed with the registry (unreachable, or --no-fallback), instead of using it with a warning; also `unconfirmed = "fail"` in the config')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print results as JSON on stdout (one object)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'No progress bars and no messages except errors')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'More log output on stderr (-v: each request, -vv: debug)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
