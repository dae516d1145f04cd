# devproxy in a container: `devproxy serve --headless` on the route files
# mounted at /routes (a ConfigMap in a cluster). Multi-stage: the build
# stage compiles a static binary (no cgo) and assembles the whole final
# file system in /rootfs; the final stage is `scratch` plus that one
# directory. So the image holds exactly what this file says, nothing from
# a base image: the binary, /etc/passwd and /etc/group (root and the
# non-root user 65532, "nonroot"), its home, /tmp (1777), the /routes mount
# point and the CA bundle (HTTPS upstreams, e.g. the assistant's API). There
# is no shell (the HEALTHCHECK is devproxy's own), and every file of it is
# checked by running it (server/cmd/devproxy/image_linux_test.go).
#
#   docker build -t devproxy .
#   docker run -p 8080:8080 -v "$PWD:/routes:ro" devproxy
#
# Listening on 0.0.0.0 inside the container: publish the port on loopback
# (-p 127.0.0.1:8080:8080) unless the proxy is meant for the network. Its
# own pages then need an API key from other addresses (docs/auth.md); with
# --headless there are none but /devproxy/healthz.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
# COPY --from keeps the owners set here (root, and 65532 for the home).
RUN mkdir -p /rootfs/etc/ssl/certs /rootfs/home/nonroot /rootfs/routes /rootfs/tmp \
 && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /rootfs/devproxy ./server/cmd/devproxy \
 && printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > /rootfs/etc/passwd \
 && printf 'root:x:0:\nnonroot:x:65532:\n' > /rootfs/etc/group \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ca-certificates.crt \
 && chown 65532:65532 /rootfs/home/nonroot \
 && chmod 1777 /rootfs/tmp

FROM scratch
COPY --from=build /rootfs/ /
# Health and API-key stores live here, outside the mounted routes.
ENV DEVPROXY_STATE_DIR=/tmp/devproxy-state
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/devproxy", "healthcheck", "--url", "http://127.0.0.1:8080/devproxy/healthz"]
ENTRYPOINT ["/devproxy", "serve", "--headless", "--root", "/routes", "--listen", "0.0.0.0:8080", "--tunnel-listen", "127.0.0.1:8081", "--data-dir", "/tmp/devproxy-data"]
