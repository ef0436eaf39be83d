#!/bin/sh
# Install every Debian 12 package that pmuprof's build, tests and benchmarks need.
# Idempotent: does nothing when all packages are present; runs `apt-get update` once
# when something is missing.
set -eu

PACKAGES="
build-essential
pkg-config
meson
ninja-build
clang
libclang-rt-14-dev
llvm
bpftool
libbpf-dev
libelf-dev
libdw-dev
libcapstone-dev
libdebuginfod-dev
debuginfod
zlib1g-dev
libdeflate-dev
liblzma-dev
libiberty-dev
libc6-dbg
binutils
xz-utils
elfutils
g++
libpfm4-dev
libcriterion-dev
linux-libc-dev
libc6-dev
linux-perf
strace
bpftrace
libxml2-utils
golang-go
libmicrohttpd-dev
libcurl4-openssl-dev
libsystemd-dev
prometheus
python3-protobuf
python3-prometheus-client
chromium
chromium-driver
python3-selenium
clang-format
libjson-c-dev
util-linux
procps
python3
qemu-system-x86
busybox-static
cpio
kmod
zstd
scdoc
man-db
bash-completion
protobuf-c-compiler
libprotobuf-c-dev
"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages:$missing; run as root to install them" >&2
	exit 1
fi

echo "install-deps: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
