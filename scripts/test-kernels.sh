#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Run a command as root inside Debian's own kernels, under qemu.
#
#   scripts/test-kernels.sh [OPTIONS] [KERNEL-PACKAGE...] [-- COMMAND [ARG...]]
#
# For each kernel package (default: the image linux-image-amd64 depends on, Debian 12's 6.1,
# and the newest linux-image-6.12.*-amd64), fetch the .deb from Debian's archive with
# `apt-get download` (cached), extract the uncompressed vmlinux (qemu boots it through its
# PVH entry, which is much faster than the bzImage path), build a small initramfs
# (busybox-static and the 9p, virtio and overlay modules of the same package), boot it and
# run COMMAND (default: uname -r) in the current directory. The guest sees the host's root
# file system read-only over 9p under a tmpfs overlay, so the host's build tree and
# workloads run there unchanged at the same paths; proc, sys, debugfs, tracefs and bpffs are
# mounted. A meta-package (linux-image-amd64, linux-image-6.12-amd64) stands for the image
# it depends on.
#
# The command's stdout and stderr are printed on ours; the exit status is the command's
# (with several kernels: 0 when every one exits 0, else the last non-zero status). 77 with
# a reason when qemu cannot run here. Only PATH and PMUPROF_* variables reach the guest.
#
# Options:
#   --cache DIR     downloads, vmlinux and initramfs per kernel
#                   (default ${XDG_CACHE_HOME:-$HOME/.cache}/pmuprof/kernels)
#   --out DIR       keep stdout, stderr, status and the console log in DIR/PACKAGE/
#   --timeout S     give up on a guest after S seconds (default 300)
#   --smp N, --mem MB   guest CPUs (default 2) and memory (default 1024)
#   --accel A       tcg (default) or kvm: nested KVM often cannot run stock kernels
#   --resolve       print the concrete package each argument stands for, then exit
set -eu

# modinfo lives in /sbin, which a user's PATH may lack.
PATH=$PATH:/usr/sbin:/sbin
cache=${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/pmuprof/kernels
keep=""
timeout_s=300
smp=2
mem=1024
accel=tcg
resolve_only=0
packages=""
DEFAULT_PACKAGES="linux-image-amd64 linux-image-6.12-amd64"

die() {
	echo "test-kernels: $*" >&2
	exit 1
}

skip() {
	echo "test-kernels: SKIP: $*" >&2
	exit 77
}

while [ $# -gt 0 ]; do
	case "$1" in
	--cache) cache=$2; shift 2 ;;
	--out) keep=$2; shift 2 ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--smp) smp=$2; shift 2 ;;
	--mem) mem=$2; shift 2 ;;
	--accel) accel=$2; shift 2 ;;
	--resolve) resolve_only=1; shift ;;
	--) shift; break ;;
	-h | --help) sed -n '4,/^set -eu/p' "$0" | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//'; exit 0 ;;
	-*) die "unknown option '$1'; see --help" ;;
	*) packages="$packages $1"; shift ;;
	esac
done
[ $# -gt 0 ] || set -- uname -r
packages=${packages:-$DEFAULT_PACKAGES}
case "$accel" in tcg | kvm) ;; *) die "--accel $accel: tcg or kvm" ;; esac

# ---- which image a package name stands for ----

# Prints the concrete linux-image-VERSION-FLAVOUR package. The answer is remembered in the
# cache, so a machine whose apt lists are gone still runs the kernels it has.
resolve() {
	name=$1
	dep=$(apt-cache depends "$name" 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
	if [ -n "$dep" ]; then
		mkdir -p "$cache"
		echo "$dep" >"$cache/$name.resolved"
		echo "$dep"
	elif [ -f "$cache/$name.resolved" ]; then
		cat "$cache/$name.resolved"
	else
		echo "$name" # an image itself
	fi
}

# ---- vmlinux and initramfs, built once per kernel ----

# The bzImage's payload (boot protocol 2.08+: payload_offset at 0x248 from the protected-mode
# code, payload_length at 0x24c), minus the 4-byte uncompressed size appended to it.
extract_vmlinux() {
	# shellcheck disable=SC2046 # two numbers
	set -- $(python3 - "$1" <<-'PY'
		import struct, sys
		b = open(sys.argv[1], "rb").read(0x250)
		setup = (b[0x1f1] or 4) + 1
		off, length = struct.unpack_from("<II", b, 0x248)
		print(setup * 512 + off, length - 4)
	PY
	) "$1" "$2"
	magic=$(tail -c +$(($1 + 1)) "$3" | head -c 4 | od -An -tx1 | tr -d ' \n')
	case "$magic" in
	28b52ffd) unpack="zstd -dc" ;;
	fd377a58) unpack="xz -dc --single-stream" ;;
	1f8b*) unpack="gzip -dc" ;;
	*) die "$3: unknown kernel compression (magic $magic)" ;;
	esac
	tail -c +$(($1 + 1)) "$3" | head -c "$2" | $unpack >"$4"
}

# Module names the guest loads, dependencies first: the 9p transport over virtio and
# overlayfs (virtio_pci is built in on 6.12, a module on 6.1).
module_order() {
	moddir=$1
	shift
	for m in "$@"; do
		ko=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
		[ -n "$ko" ] || continue # built in
		deps=$(modinfo -F depends "$ko" | tr ',' ' ')
		# A subshell: sh functions share their variables with the caller.
		# shellcheck disable=SC2086
		[ -z "$deps" ] || (module_order "$moddir" $deps)
		echo "$ko"
	done
}

# A kernel's cache entry is reused while the init it was built with is unchanged.
prepare() {
	pkg=$1
	dir=$cache/$pkg
	stamp=$(guest_init | cksum)
	[ "$(cat "$dir/ready" 2>/dev/null)" = "$stamp" ] && return 0
	mkdir -p "$cache"
	tmp=$(mktemp -d "$cache/.tmp.XXXXXX")
	cleanup="$cleanup $tmp"
	(
		cd "$tmp"
		echo "test-kernels: fetching $pkg" >&2
		apt-get download -q -o APT::Sandbox::User=root "$pkg" >&2 ||
			die "$pkg: apt-get download failed"
		dpkg-deb -x ./*.deb root
		vmlinuz=$(ls root/boot/vmlinuz-*)
		extract_vmlinux "$vmlinuz" vmlinux
		release=${vmlinuz##*/vmlinuz-}
		mkdir -p initrd/bin initrd/lib/modules initrd/proc initrd/sys initrd/dev
		cp /bin/busybox initrd/bin/busybox
		: >initrd/modules
		module_order "root/lib/modules/$release/kernel" virtio_pci 9pnet_virtio 9p overlay |
			awk '!seen[$0]++' | while read -r ko; do
			name=$(basename "$ko")
			case "$name" in
			*.xz) xz -dc "$ko" >"initrd/lib/modules/${name%.xz}" ;;
			*) cp "$ko" "initrd/lib/modules/$name" ;;
			esac
			echo "${name%%.ko*}" >>initrd/modules
		done
		guest_init >initrd/init
		chmod 755 initrd/init
		(cd initrd && find . | cpio -o -H newc --quiet | gzip -1) >initramfs.gz
		dpkg-deb -f ./*.deb Version >version
		echo "$release" >release
		mkdir final
		mv vmlinux initramfs.gz version release final/
		echo "$stamp" >final/ready
	)
	rm -rf "$dir"
	mv "$tmp/final" "$dir"
	rm -rf "$tmp"
}

# The initramfs's /init: load the modules, put a tmpfs overlay on the host's root, run
# the command there, power off. pmuprof.out= on the kernel command line names the output
# directory, shared read-write at the same path as on the host.
guest_init() {
	cat <<-'EOF'
	#!/bin/busybox sh
	/bin/busybox --install -s /bin
	export PATH=/bin
	mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	for m in $(cat /modules); do
		insmod /lib/modules/$m.ko || echo "init: insmod $m failed"
	done
	out=$(sed -n 's/.*pmuprof\.out=\([^ ]*\).*/\1/p' /proc/cmdline)
	opts=trans=virtio,version=9p2000.L,msize=524288
	mkdir -p /lower /rw /newroot
	mount -t 9p -o $opts,ro,cache=loose hostroot /lower || poweroff -f
	mount -t tmpfs -o mode=755 tmpfs /rw
	mkdir /rw/upper /rw/work
	mount -t overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
		poweroff -f
	mount -t proc proc /newroot/proc
	mount -t sysfs sysfs /newroot/sys
	mount -t devtmpfs devtmpfs /newroot/dev
	mkdir -p /newroot/dev/pts /newroot/dev/shm
	mount -t devpts devpts /newroot/dev/pts
	mount -t tmpfs tmpfs /newroot/dev/shm
	mount -t tmpfs tmpfs /newroot/run
	mount -t debugfs debugfs /newroot/sys/kernel/debug
	mount -t tracefs tracefs /newroot/sys/kernel/tracing
	mount -t bpf bpf /newroot/sys/fs/bpf
	mkdir -p "/newroot$out"
	mount -t 9p -o $opts out "/newroot$out" || poweroff -f
	hostname guest
	chroot /newroot /bin/sh "$out/guest.sh"
	umount "/newroot$out"
	poweroff -f
	EOF
}

# ---- one boot ----

quote() {
	printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"
}

# The script the guest runs in the host's root: the command, its outputs, its status.
guest_script() {
	out=$1
	shift
	echo "cd $(quote "$(pwd)") || exit 1"
	echo "export HOME=/root LANG=C.UTF-8 PATH=$(quote "$PATH")"
	env | grep '^PMUPROF_[A-Za-z0-9_]*=' | while IFS= read -r kv; do
		echo "export ${kv%%=*}=$(quote "${kv#*=}")"
	done
	printf '%s' "$(quote "$1")"
	shift
	for a in "$@"; do printf ' %s' "$(quote "$a")"; done
	echo " </dev/null >$(quote "$out/stdout") 2>$(quote "$out/stderr")"
	echo "echo \$? >$(quote "$out/status.tmp") && mv $(quote "$out/status.tmp") $(quote "$out/status")"
}

# no_timer_check: on a busy host the emulated 8254 timer can look dead to the kernel's
# early check, and 5.10 then panics ("IO-APIC + timer doesn't work").
boot() {
	pkg=$1
	out=$2
	shift 2
	dir=$cache/$pkg
	guest_script "$out" "$@" >"$out/guest.sh"
	rm -f "$out/status" "$out/stdout" "$out/stderr"
	timeout -k 10 "$timeout_s" qemu-system-x86_64 \
		-machine pc -accel "$accel_opts" -cpu "$cpu" -smp "$smp" -m "$mem" \
		-nodefaults -display none -no-reboot \
		-serial "file:$out/console.log" \
		-kernel "$dir/vmlinux" -initrd "$dir/initramfs.gz" \
		-append "console=ttyS0 panic=-1 loglevel=4 no_timer_check pmuprof.out=$out" \
		-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
		-virtfs "local,path=$out,mount_tag=out,security_model=none,multidevs=remap" \
		>"$out/qemu.log" 2>&1 || echo "qemu exited $? (124: timed out after ${timeout_s}s)" >>"$out/qemu.log"
}

# ---- main ----

resolved=""
for p in $packages; do
	resolved="$resolved $(resolve "$p")"
done
if [ "$resolve_only" = 1 ]; then
	for p in $resolved; do echo "$p"; done
	exit 0
fi

[ "$(uname -m)" = x86_64 ] || skip "the guest runs this host's binaries: x86-64 hosts only"
command -v qemu-system-x86_64 >/dev/null ||
	skip "qemu-system-x86_64 is not installed (scripts/install-deps.sh installs qemu-system-x86)"
# One host thread for all vCPUs: with a thread per vCPU, qemu 7.2 can run code another
# vCPU is rewriting (static keys flip when perf events come and go) and the guest crashes
# in __schedule. It also leaves the other host CPU to the rest of the machine.
cpu=max
accel_opts=tcg,thread=single
[ "$accel" = kvm ] && cpu=host accel_opts=kvm

cleanup=""
trap 'rm -rf $cleanup' EXIT
mkdir -p "$cache"
exec 9>"$cache/.lock"
for p in $resolved; do
	flock 9
	prepare "$p"
	flock -u 9
done

work=$(mktemp -d /tmp/pmuprof-kernels.XXXXXX)
cleanup="$cleanup $work"
status=0
for p in $resolved; do
	out=$work/$p
	mkdir -p "$out"
	start=$(date +%s)
	boot "$p" "$out" "$@"
	end=$(date +%s)
	[ -f "$out/stdout" ] && cat "$out/stdout"
	[ -f "$out/stderr" ] && cat "$out/stderr" >&2
	if [ -f "$out/status" ]; then
		rc=$(cat "$out/status")
		echo "test-kernels: $p $(cat "$cache/$p/version") ($accel): exit $rc in $((end - start)) s" >&2
	else
		rc=1
		echo "test-kernels: $p $(cat "$cache/$p/version"): the guest reported no exit status; qemu and console:" >&2
		tail -n 5 "$out/qemu.log" >&2
		tail -n 40 "$out/console.log" >&2
	fi
	[ "$rc" = 0 ] || status=$rc
	if [ -n "$keep" ]; then
		mkdir -p "$keep/$p"
		cp "$out"/* "$keep/$p/"
	fi
done
exit "$status"
