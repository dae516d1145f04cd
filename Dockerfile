# devproxy in a container: `devproxy serve --headless` on the route files
# mounted at /routes (a ConfigMap in a cluster). Multi-stage: the binary is
# built static (no cgo), and the image is distroless's static base, running
# as its non-root user, with no shell: the HEALTHCHECK is devproxy's own.
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
RUN CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/devproxy ./server/cmd/devproxy

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/devproxy /devproxy
# Health and API-key stores live here, outside the mounted routes.
ENV DEVPROXY_STATE_DIR=/tmp/devproxy-state
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["/devproxy", "healthcheck", "--url", "http://127.0.0.1:8080/devproxy/healthz"]
ENTRYPOINT ["/devproxy", "serve", "--headless", "--root", "/routes", "--listen", "0.0.0.0:8080", "--tunnel-listen", "127.0.0.1:8081", "--data-dir", "/tmp/devproxy-data"]
