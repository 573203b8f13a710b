#!/usr/bin/env python3
"""Generate benchmark images as OCI image layouts, for `skopeo copy oci:` to push.

Every layer is a real gzip'd tar (one file of random bytes), so that whatever
a peer does with a `tar+gzip` layer (sniff the compression, decompress to
compute a DiffID) works, and the config's diff_ids are the real digests of
the uncompressed tars. The gzip uses deflate level 0 ("stored" blocks): the
data is random, so compressing it would only cost time, and the blob on the
wire stays as incompressible as the random bytes in it.

Everything is streamed in 1 MiB pieces, so a 1 GiB layer needs no more than a
few MiB of memory here.

Usage:
  genimage.py image DIR TAG --layers SIZE[,SIZE...]   one image, layers of these sizes
  genimage.py image DIR TAG --small N --min SIZE --max SIZE [--seed S]
                                                   N layers of random sizes in [min, max]
  genimage.py index DIR TAG --platforms P[,P...] --layers SIZE[,SIZE...]
                                                   a multi-platform OCI index
  genimage.py family DIR TAG --count N --base SIZE[,SIZE...] --layers SIZE[,SIZE...]
                                                   N images TAG0..TAG<N-1> sharing the
                                                   base layers, each with layers of its own

SIZE takes K/M/G suffixes (powers of 1024) and is the approximate size of the
compressed blob. Each call writes DIR (an OCI layout with one ref, TAG) and
DIR/bench.json: the top digest and, per platform, the manifest and the blobs
(config first), which the benchmark uses for its curl baseline.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import tarfile
import zlib

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK = 1 << 20


def parse_size(s):
    s = s.strip().upper().removesuffix("IB").removesuffix("B")
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(s[-1:], 1)
    return int(float(s[:-1] if mult > 1 else s) * mult)


class Layout:
    """An OCI layout being written: blobs land under their digest."""

    def __init__(self, root):
        self.root = root
        self.blobs = os.path.join(root, "blobs", "sha256")
        os.makedirs(self.blobs, exist_ok=True)
        with open(os.path.join(root, "oci-layout"), "w") as f:
            json.dump({"imageLayoutVersion": "1.0.0"}, f)

    def put(self, media_type, data):
        digest = hashlib.sha256(data).hexdigest()
        with open(os.path.join(self.blobs, digest), "wb") as f:
            f.write(data)
        return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

    def put_json(self, media_type, obj):
        return self.put(media_type, json.dumps(obj, indent=2).encode())

    def random_layer(self, size):
        """A gzip'd tar holding one file of random bytes, about `size` bytes
        in all. Returns (descriptor, diff_id)."""
        # Stored deflate blocks add ~5 bytes per 64 KiB; the tar adds a
        # header block and two zero blocks. Aim the payload a bit under.
        payload = max(0, size - 512 - 1024 - size // 13000 - 32)
        info = tarfile.TarInfo("layer.bin")
        info.size = payload
        info.mode = 0o644
        info.mtime = 0
        header = info.tobuf(format=tarfile.USTAR_FORMAT)
        tmp = os.path.join(self.blobs, ".tmp-layer")
        compressed = hashlib.sha256()
        uncompressed = hashlib.sha256()
        gz = zlib.compressobj(0, zlib.DEFLATED, 31)  # wbits 31: gzip framing
        total = 0
        with open(tmp, "wb") as out:

            def feed(raw):
                nonlocal total
                uncompressed.update(raw)
                z = gz.compress(raw)
                compressed.update(z)
                out.write(z)
                total += len(z)

            feed(header)
            left = payload
            while left:
                n = min(CHUNK, left)
                feed(os.urandom(n))
                left -= n
            # Pad the file to a 512-byte block, then the two zero blocks
            # that end an archive (no padding to a 10 KiB record: readers
            # do not need it, and it would make 4 KiB layers impossible).
            feed(b"\0" * ((-payload % 512) + 1024))
            z = gz.flush()
            compressed.update(z)
            out.write(z)
            total += len(z)
        digest = compressed.hexdigest()
        os.rename(tmp, os.path.join(self.blobs, digest))
        desc = {"mediaType": OCI_LAYER, "digest": "sha256:" + digest, "size": total}
        return desc, "sha256:" + uncompressed.hexdigest()

    def image(self, sizes, os_name="linux", arch="amd64", variant=None, base=()):
        """Layers of these sizes (after the `base` layers given as
        (descriptor, diff_id) pairs), a config naming their diff_ids, a
        manifest. Returns (manifest descriptor, blob descriptors config first)."""
        layers = [d for d, _ in base]
        diff_ids = [diff for _, diff in base]
        for size in sizes:
            d, diff = self.random_layer(size)
            layers.append(d)
            diff_ids.append(diff)
        config = {
            "architecture": arch,
            "os": os_name,
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "config": {"Env": ["PATH=/usr/bin:/bin"]},
        }
        if variant:
            config["variant"] = variant
        config_desc = self.put_json(OCI_CONFIG, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": config_desc,
            "layers": layers,
        }
        return self.put_json(OCI_MANIFEST, manifest), [config_desc] + layers

    def finish(self, tag, top, platforms, more=()):
        top = dict(top, annotations={"org.opencontainers.image.ref.name": tag})
        entries = [top] + [dict(d, annotations={"org.opencontainers.image.ref.name": t}) for t, d in more]
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        with open(os.path.join(self.root, "index.json"), "w") as f:
            json.dump(index, f)
        with open(os.path.join(self.root, "bench.json"), "w") as f:
            json.dump({"tag": tag, "top": top["digest"], "mediaType": top["mediaType"],
                       "platforms": platforms}, f, indent=2)


def platform_entry(manifest, blobs):
    return {"manifest": manifest["digest"], "blobs": blobs}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", choices=["image", "index", "family"])
    p.add_argument("dir")
    p.add_argument("tag")
    p.add_argument("--layers", help="comma-separated layer sizes")
    p.add_argument("--small", type=int, help="this many layers of random sizes")
    p.add_argument("--min", default="4K")
    p.add_argument("--max", default="64K")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--platforms", default="linux/amd64,linux/arm64")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--base", default="16M")
    a = p.parse_args()

    if a.small:
        rng = random.Random(a.seed)  # sizes are reproducible, bytes are not
        lo, hi = parse_size(a.min), parse_size(a.max)
        sizes = [rng.randint(lo, hi) for _ in range(a.small)]
    elif a.layers:
        sizes = [parse_size(s) for s in a.layers.split(",")]
    else:
        sys.exit("genimage.py: give --layers or --small")

    layout = Layout(a.dir)
    if a.kind == "family":
        base = [layout.random_layer(parse_size(s)) for s in a.base.split(",")]
        images = [layout.image(sizes, base=base) for _ in range(a.count)]
        tags = [f"{a.tag}{i}" for i in range(a.count)]
        more = [(t, m) for t, (m, _) in zip(tags[1:], images[1:])]
        layout.finish(tags[0], images[0][0], {"linux/amd64": platform_entry(*images[0])}, more)
        with open(os.path.join(a.dir, "tags"), "w") as f:
            f.write("\n".join(tags) + "\n")
        return
    if a.kind == "image":
        manifest, blobs = layout.image(sizes)
        layout.finish(a.tag, manifest, {"linux/amd64": platform_entry(manifest, blobs)})
    else:
        entries, platforms = [], {}
        for plat in a.platforms.split(","):
            parts = plat.split("/")
            os_name, arch = parts[0], parts[1]
            variant = parts[2] if len(parts) > 2 else None
            manifest, blobs = layout.image(sizes, os_name, arch, variant)
            platform = {"os": os_name, "architecture": arch}
            if variant:
                platform["variant"] = variant
            entries.append(dict(manifest, platform=platform))
            platforms[plat] = platform_entry(manifest, blobs)
        index = layout.put_json(OCI_INDEX, {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries})
        layout.finish(a.tag, index, platforms)


if __name__ == "__main__":
    main()
