#!/bin/sh
# The local nginx stand-in's template rendering, as the official image's script of the same name
# does it (.ci/base-images.sh copies it in; its comment there says what is kept).
set -e
me=$(basename "$0")
say() { if [ -z "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then echo "$@"; fi; }
templates=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
out=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}
filter=${NGINX_ENVSUBST_FILTER:-}
[ -d "$templates" ] || exit 0
if [ ! -w "$out" ]; then say "$me: ERROR: $templates exists, but $out is not writable"; exit 0; fi
names=$(awk -v re="$filter" 'END { for (n in ENVIRON) if (n ~ re) printf "${%s} ", n }' </dev/null)
find "$templates" -follow -type f -name "*$suffix" -print | while read -r template; do
  rel=${template#"$templates/"}
  target="$out/${rel%"$suffix"}"
  mkdir -p "$(dirname "$target")"
  say "$me: Running envsubst on $template to $target"
  envsubst "$names" <"$template" >"$target"
done
