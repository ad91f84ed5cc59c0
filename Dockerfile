# waggle, and the Cruddur demo binaries, in one multi-stage build.
#   docker build -t waggle .                          # the server (default target)
#   docker build -t cruddur-api --target cruddur-api .
#   docker build -t cruddur-load --target cruddur-load .
# DuckDB needs cgo: build on Debian with gcc, run on a slim Debian (glibc,
# libstdc++) as a non-root user.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=1 go build -trimpath -ldflags "-s -w -X github.com/waggle-hq/waggle/internal/cli.version=${VERSION}" \
      -o /out/waggle ./cmd/waggle && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/cruddur-api ./examples/cruddur/cmd/cruddur-api && \
    CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/cruddur-load ./examples/cruddur/cmd/cruddur-load

FROM debian:bookworm-slim AS cruddur-api
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --no-create-home cruddur
COPY --from=build /out/cruddur-api /usr/local/bin/cruddur-api
USER 10001
ENV PORT=4567
EXPOSE 4567
ENTRYPOINT ["/usr/local/bin/cruddur-api"]

FROM debian:bookworm-slim AS cruddur-load
COPY --from=build /out/cruddur-load /usr/local/bin/cruddur-load
USER 65534
ENTRYPOINT ["/usr/local/bin/cruddur-load"]

FROM debian:bookworm-slim AS waggle
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /data waggle \
    && mkdir -p /data && chown waggle:waggle /data
COPY --from=build /out/waggle /usr/local/bin/waggle
USER 10001
WORKDIR /data
VOLUME ["/data"]
# Inside the container every listener binds all interfaces; publish only
# what you need (the X-Ray port is the credential of UDP segments).
ENV WAGGLE_DATA_DIR=/data \
    WAGGLE_HTTP_ADDR=0.0.0.0:8080 \
    WAGGLE_OTLP_GRPC_ADDR=0.0.0.0:4317 \
    WAGGLE_OTLP_HTTP_ADDR=0.0.0.0:4318 \
    WAGGLE_XRAY_ADDR=0.0.0.0:2000
EXPOSE 8080 4317 4318 2000/udp 2000/tcp
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8080/healthz || exit 1
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/waggle"]
CMD ["serve"]
