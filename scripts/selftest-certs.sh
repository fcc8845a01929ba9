#!/usr/bin/env bash
# Make a throwaway certificate authority and a server certificate for one IP address, for the
# self-test's TLS front. Usage: selftest-certs.sh DIR IP
# Writes DIR/ca.pem (to trust), DIR/server.pem and DIR/server-key.pem. Keys never leave DIR.
set -euo pipefail

dir=${1:?usage: selftest-certs.sh DIR IP}
ip=${2:?usage: selftest-certs.sh DIR IP}
mkdir -p "$dir"
cd "$dir"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -sha256 \
  -subj "/CN=clanforge-gate self-test CA" \
  -keyout ca-key.pem -out ca.pem \
  -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null

openssl req -newkey rsa:2048 -nodes -sha256 \
  -subj "/CN=${ip}" -keyout server-key.pem -out server.csr 2>/dev/null

cat > server.ext <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:${ip}
authorityKeyIdentifier=keyid
subjectKeyIdentifier=hash
EXT

openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
  -days 1 -sha256 -extfile server.ext -out server.pem 2>/dev/null
rm -f server.csr server.ext ca-key.pem ca.srl
chmod 0644 ca.pem server.pem
echo "certificates for ${ip} in ${dir}"
