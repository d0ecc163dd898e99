# connectord: multi-stage build, small non-root runtime image.
#   docker build -t connectord .
#   docker run --rm -e DATABASE_URL=... -e CONNECTORD__SECRETS__KEY=... connectord run

FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so code changes do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && cargo build --release --locked && rm -rf src
COPY . .
# Queries are checked against the committed .sqlx/ data (.cargo/config.toml sets SQLX_OFFLINE).
RUN touch src/main.rs src/lib.rs && cargo build --release --locked --bin connectord

# glibc and nothing else; runs as uid 65532 (nonroot). TLS roots are compiled in (webpki).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/connectord /usr/local/bin/connectord
ENV CONNECTORD__HTTP__LISTEN=0.0.0.0:9464
EXPOSE 9464
USER nonroot
ENTRYPOINT ["/usr/local/bin/connectord"]
CMD ["run"]
