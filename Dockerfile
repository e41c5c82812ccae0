# Build: docker build -t tether .
# Run:   docker run --rm -p 8080:8080 -v $PWD/conf:/etc/tether tether run -c /etc/tether/insert-indirect-nocache.yaml
FROM rust:1-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends cmake perl make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/tether /usr/local/bin/tether
COPY conf /etc/tether
EXPOSE 8080 9901
ENTRYPOINT ["/usr/local/bin/tether"]
CMD ["demo", "--listen", "0.0.0.0:8080", "--admin", "0.0.0.0:9901"]
