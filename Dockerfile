# syntax=docker/dockerfile:1
# Build stage: cgo is needed for the embedded DuckDB engine, so the binary is
# built with gcc against glibc and runs on a matching slim Debian image.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# The same command as a developer's `make build` (one source of truth).
RUN make build BIN=/out/sam

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /work --create-home sam
COPY --from=build /out/sam /usr/local/bin/sam
USER 10001:10001
WORKDIR /work
# Cloud Run passes configuration as SAM_* environment variables.
ENV SAM_LOG_FORMAT=json
ENTRYPOINT ["/usr/local/bin/sam"]
CMD ["run"]
