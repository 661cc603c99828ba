#!/bin/sh
# Start nginx + nchan in the foreground: bench/peers/run-nchan.sh [PORT] [DIR]
# Needs: apt-get install -y nginx libnginx-mod-nchan
set -eu
here=$(cd "$(dirname "$0")" && pwd)
port=${1:-8091}
dir=${2:-$(mktemp -d /tmp/cg-nchan.XXXXXX)}
command -v nginx >/dev/null || { echo "run-nchan: nginx missing (apt-get install -y nginx libnginx-mod-nchan)" >&2; exit 2; }
[ -f /usr/lib/nginx/modules/ngx_nchan_module.so ] || { echo "run-nchan: libnginx-mod-nchan missing" >&2; exit 2; }
mkdir -p "$dir/tmp"
sed -e "s|@PORT@|$port|g" -e "s|@DIR@|$dir|g" "$here/nchan.conf.in" > "$dir/nginx.conf"
echo "nchan on 127.0.0.1:$port (dir $dir)" >&2
exec nginx -p "$dir" -c "$dir/nginx.conf"
