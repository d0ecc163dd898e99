# connectord: multi-stage build, small non-root runtime images.
#   DOCKER_BUILDKIT=1 docker build -t connectord --build-arg COMMIT=$(git rev-parse --short HEAD) .
#   docker build -t connectord-simulator --target simulator .
#   docker run --rm -e DATABASE_URL=... -e CONNECTORD__SECRETS__KEY=... connectord run
# .dockerignore keeps target/ and .git out of the context; the commit comes in as COMMIT.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# build.rs embeds it (connectord_build_info, run's start line); git is not in the context.
ARG COMMIT=unknown
ENV CONNECTORD_COMMIT=${COMMIT}
# Queries are checked against the committed .sqlx/ data (.cargo/config.toml sets SQLX_OFFLINE).
# The simulator image gets the binary with the `demo` feature (it serves `simulate`); the
# daemon's image is built without it, so it carries no fake Salesforce.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    cargo build --release --locked -p connectord --bin connectord \
    && cp target/release/connectord /connectord-demo \
    && cargo build --release --locked -p connectord --no-default-features --bin connectord

# glibc and nothing else; runs as uid 65532 (nonroot). TLS roots are compiled in (webpki).
FROM gcr.io/distroless/cc-debian12:nonroot AS base
ARG COMMIT=unknown
ARG VERSION=0.1.0
ARG CREATED=unknown
LABEL org.opencontainers.image.title="connectord" \
      org.opencontainers.image.description="Provisions server-to-server Salesforce connections for every tenant, from desired state in PostgreSQL" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"
USER nonroot
ENTRYPOINT ["/usr/local/bin/connectord"]

# The Salesforce simulator alone (docker compose try-out): `--target simulator`.
FROM base AS simulator
COPY --from=build /connectord-demo /usr/local/bin/connectord
LABEL org.opencontainers.image.title="connectord-simulator"
EXPOSE 8443
HEALTHCHECK NONE
CMD ["simulate", "--listen", "0.0.0.0:8443", "--orgs", "1"]

# The daemon (the default target). `connectord health` asks /readyz on http.listen.
FROM base AS daemon
COPY --from=build /src/target/release/connectord /usr/local/bin/connectord
ENV CONNECTORD__HTTP__LISTEN=0.0.0.0:9464
EXPOSE 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["/usr/local/bin/connectord", "health"]
CMD ["run"]
