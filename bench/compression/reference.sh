#!/usr/bin/env bash
# What the C reference libraries (the ones the Java client calls: zlib, zstd through zstd-jni,
# lz4 through lz4-java) write at each level for the same batches as the Rust benchmark: bytes
# out, summed over the batches, each batch compressed alone as a producer does. Needs the
# gzip, zstd and lz4 command-line tools. Usage: bench/compression/reference.sh
set -euo pipefail
cd "$(dirname "$0")"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cargo run --release --quiet -- --seconds 0.01 --dump "$dir" >/dev/null
sum() { awk '{s+=$1} END {print s}'; }
for l in 1 3 6 9; do
  echo "gzip $l $(for f in "$dir"/batch-*; do gzip -"$l" -n -c "$f" | wc -c; done | sum)"
done
for l in 1 9 12; do
  # Kafka's lz4 frames: 64 KiB independent blocks.
  echo "lz4 $l $(for f in "$dir"/batch-*; do lz4 -"$l" -B4 -BI -q -c "$f" 2>/dev/null | wc -c; done | sum)"
done
for l in -5 1 3 9 19; do
  if [ "$l" -lt 0 ]; then opt="--fast=${l#-}"; else opt="-$l"; fi
  echo "zstd $l $(for f in "$dir"/batch-*; do zstd "$opt" -q -c "$f" | wc -c; done | sum)"
done
