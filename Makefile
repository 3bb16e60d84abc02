# verity: the two commands that work on a fresh machine are `make demo` and `make test`.
# Both install what they need first (Debian packages, test media); each step is idempotent.

SHELL := /bin/bash
MEDIA := .cache/media
OUT   := out
CARGO ?= cargo

.PHONY: demo test deps media clips interop build bench lint clean

## make demo: make test clips, probe one, transcode real footage through verity's pipeline.
demo: clips build
	@mkdir -p $(OUT)
	@echo "== verity probe $(MEDIA)/testsrc2.mp4"
	@target/release/verity probe $(MEDIA)/testsrc2.mp4
	@echo
	@echo "== verity probe $(MEDIA)/bigbuckbunny.mp4 (real footage, 5.1 audio)"
	@target/release/verity probe $(MEDIA)/bigbuckbunny.mp4
	@echo
	@echo "== verity transcode $(MEDIA)/bigbuckbunny.mp4 $(OUT)/bigbuckbunny-transcoded.mp4"
	@target/release/verity transcode $(MEDIA)/bigbuckbunny.mp4 $(OUT)/bigbuckbunny-transcoded.mp4
	@echo
	@target/release/verity probe $(OUT)/bigbuckbunny-transcoded.mp4

## make test: the whole test suite; the fetched media and c2pa-python are required, not skipped.
test: media interop
	VERITY_REQUIRE_MEDIA=1 VERITY_REQUIRE_INTEROP=1 $(CARGO) test --workspace --locked

deps:
	@bash scripts/install-deps.sh

media: deps
	@bash scripts/fetch-media.sh $(MEDIA)

interop: deps
	@bash scripts/setup-interop.sh

clips: media
	@bash scripts/make-clips.sh $(MEDIA)

build: deps
	$(CARGO) build --release --locked -p verity

## make bench: figures for docs/benchmarks.md (minutes; not part of make test).
bench: media
	bash benches/transcode.sh

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

clean:
	rm -rf $(OUT)
