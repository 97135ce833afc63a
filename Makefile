# Reelguard: two commands set everything up (see README.md).
#   make run   the whole stack on embedded defaults, in the foreground
#   make test  install and start what the tests need, then run every test

GO ?= go
BIN := bin

.PHONY: all build run test vet clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/gateway ./cmd/recommender ./cmd/devbroker

run: build
	bash scripts/run.sh

test:
	bash scripts/test.sh

vet:
	$(GO) vet ./...

clean:
	rm -rf $(BIN)
