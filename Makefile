# fed: build, test, install.  `make check` installs missing Debian packages
# first (scripts/deps), so a fresh clone needs nothing else.

PREFIX   ?= /usr/local
DESTDIR  ?=
BINDIR    = $(PREFIX)/bin
MANDIR    = $(PREFIX)/share/man
# make install strips the tools; STRIP= keeps their debug information.
STRIP    ?= strip

# Completions go where each shell finds them with no setup by its user,
# asked of the shell itself at install time (set BASHCOMP, ZSHCOMP or
# FISHCOMP to override):
# - bash-completion loads a command's completion from bash-completion/
#   completions under $XDG_DATA_DIRS, by default /usr/local/share and
#   /usr/share, and under ~/.local/share: PREFIX/share serves for these,
#   and PREFIX=/usr takes the directory bash-completion's pkg-config file
#   names.
# - zsh (once compinit runs, as its recommended ~/.zshrc does) autoloads
#   from $fpath: its site-functions under PREFIX if zsh searches it, else
#   its vendor-completions (Debian's /usr/share/zsh has no site-functions).
# - fish searches its own vendor_completions.d and, only when XDG_DATA_DIRS
#   names them, those of other prefixes: fish 3.6 does not search
#   /usr/local/share/fish/vendor_completions.d by default.  So the default
#   prefix installs into the directory fish's pkg-config file names
#   (/usr/share/fish/vendor_completions.d on Debian), outside PREFIX, and a
#   PREFIX fish searches by default (/usr, ~/.local) into its own.  Without
#   fish installed, PREFIX/share/fish/vendor_completions.d.
BASHCOMP ?= $(strip $(or $(if $(filter /usr,$(PREFIX)),$(shell pkg-config \
	--variable=completionsdir bash-completion 2>/dev/null)), \
	$(PREFIX)/share/bash-completion/completions))
ZSHCOMP  ?= $(firstword $(filter $(PREFIX)/share/zsh/site-functions \
	$(PREFIX)/share/zsh/vendor-completions, \
	$(shell zsh -fc 'print -l $$fpath' 2>/dev/null)) \
	$(PREFIX)/share/zsh/site-functions)
FISHCOMP ?= $(firstword $(filter $(PREFIX)/%, \
	$(shell env -u XDG_DATA_DIRS fish -c \
	'printf "%s\n" $$__fish_vendor_completionsdirs' 2>/dev/null)) \
	$(shell pkg-config --variable=completionsdir fish 2>/dev/null) \
	$(PREFIX)/share/fish/vendor_completions.d)

VERSION   = 0.1.0
PKGS      = libarchive libcrypto jansson openblas ompi
CC       ?= cc
CFLAGS   ?= -O2 -g
ifeq ($(CI),true)
WERROR   ?= -Werror
endif
FED_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-DFED_VERSION='"$(VERSION)"' -Wall -Wextra $(WERROR) -Ilib \
	$(shell pkg-config --cflags $(PKGS))
FED_LIBS  = -Wl,--as-needed $(shell pkg-config --libs $(PKGS)) -lm -lpthread

B         = build
LIBSRC    = $(wildcard lib/*.c)
LIBOBJ    = $(LIBSRC:lib/%.c=$(B)/lib/%.o)
CMDS      = $(patsubst cmd/%.c,$(B)/%,$(wildcard cmd/fed-*.c))
UNITS     = $(patsubst tests/unit/%.c,$(B)/tests/%,$(wildcard tests/unit/test_*.c))
TOOLS     = $(patsubst tests/tools/%.c,$(B)/tools/%,$(wildcard tests/tools/*.c))
HDRS      = $(wildcard lib/*.h)
# The holder's and the coordinator's jobs (fed-holder, fed-coord) and the
# web server's configuration (fed-nginx-conf): shell scripts, copied beside
# the tools so that the tests find them where they find the tools.
JOBS      = $(patsubst jobs/%,$(B)/%,$(wildcard jobs/fed-*))

.PHONY: all check test deps demo demo-net demo-lang demo-torch bench install uninstall clean lint sanitize fuzz

all: $(CMDS) $(UNITS) $(TOOLS)

all: $(JOBS)

# A new file renamed over the old, never the old rewritten: a shell
# running the job reads it as it goes.
$(JOBS): $(B)/%: jobs/%
	@mkdir -p $(@D)
	cp $< $@.tmp
	chmod 0755 $@.tmp
	mv -f $@.tmp $@

$(B)/lib/%.o: lib/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FED_CFLAGS) $(CFLAGS) -c -o $@ $<

$(B)/libfed.a: $(LIBOBJ)
	rm -f $@
	ar rcs $@ $(LIBOBJ)

$(B)/fed-%: cmd/fed-%.c $(B)/libfed.a $(HDRS)
	$(CC) $(FED_CFLAGS) -DFED_CMD $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libfed.a $(FED_LIBS)

$(B)/tests/%: tests/unit/%.c tests/unit/t.h $(B)/libfed.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FED_CFLAGS) $(CFLAGS) $(LDFLAGS) -Itests/unit -o $@ $< $(B)/libfed.a $(FED_LIBS)

# Small programs the tests and benchmarks use to make or attack inputs.
$(B)/tools/%: tests/tools/%.c $(B)/libfed.a $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(FED_CFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(B)/libfed.a $(FED_LIBS)

deps:
	@sh scripts/deps check

# The README's test command.  Deps first, then a build against them, the
# tests, the same tests under AddressSanitizer and UBSan, and a bounded
# fuzzing pass.  FAST=1 runs the plain tests only.
check: deps
	@$(MAKE) --no-print-directory all
	@FAST=$(FAST) sh tests/check

SANFLAGS  = -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all
sanitize:
	@$(MAKE) --no-print-directory -s B=build-san CC=clang \
		CFLAGS="$(SANFLAGS)" LDFLAGS="$(SANFLAGS)" all
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1 FED_SANITIZED=1 \
		FED_BUILD=build-san sh tests/run

FUZZFLAGS = -O1 -g -fsanitize=fuzzer-no-link,address,undefined \
	-fno-sanitize-recover=all
FUZZERS   = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SECONDS ?= 10
fuzz: all
	@$(MAKE) --no-print-directory -s B=build-fuzz CC=clang \
		CFLAGS="$(FUZZFLAGS)" build-fuzz/libfed.a $(FUZZERS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh tests/fuzz/run

build-fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h build-fuzz/libfed.a
	clang $(FED_CFLAGS) -D_GNU_SOURCE $(FUZZFLAGS) -fsanitize=fuzzer -o $@ $< \
		build-fuzz/libfed.a $(FED_LIBS)

test: all
	@sh tests/run

demo: deps
	@sh scripts/deps demo
	@$(MAKE) --no-print-directory all
	@sh scripts/demo

# The coordinator and holders in network namespaces of their own, nginx
# between them (scripts/demo-net; root).
demo-net: deps
	@sh scripts/deps demo
	@$(MAKE) --no-print-directory all
	@sh scripts/demo-net

demo-lang: deps
	@sh scripts/deps demo-lang
	@$(MAKE) --no-print-directory all
	@sh scripts/demo-lang

demo-torch: deps
	@sh scripts/deps demo-torch
	@$(MAKE) --no-print-directory all
	@sh scripts/demo-torch

bench: deps
	@sh scripts/deps bench
	@$(MAKE) --no-print-directory all
	@for b in tests/bench/*.sh; do sh "$$b" || exit 1; done

lint:
	@for m in man/*.[157]; do mandoc -Tlint -W warning "$$m" || exit 1; done

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMP) $(DESTDIR)$(ZSHCOMP) $(DESTDIR)$(FISHCOMP)
	install -m 0755 $(CMDS) $(DESTDIR)$(BINDIR)
	$(if $(STRIP),$(STRIP) $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(CMDS))))
	install -m 0644 man/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 0644 man/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 man/*.7 $(DESTDIR)$(MANDIR)/man7
	install -m 0644 completions/bash/* $(DESTDIR)$(BASHCOMP)
	install -m 0644 completions/zsh/* $(DESTDIR)$(ZSHCOMP)
	install -m 0644 completions/fish/* $(DESTDIR)$(FISHCOMP)
	install -m 0755 $(JOBS) $(DESTDIR)$(BINDIR)

uninstall:
	for c in $(notdir $(CMDS) $(JOBS)); do \
		rm -f $(DESTDIR)$(BINDIR)/$$c $(DESTDIR)$(MANDIR)/man1/$$c.1 \
		$(DESTDIR)$(BASHCOMP)/$$c $(DESTDIR)$(ZSHCOMP)/_$$c \
		$(DESTDIR)$(FISHCOMP)/$$c.fish; done
	rm -f $(DESTDIR)$(MANDIR)/man5/fed-bundle.5 $(DESTDIR)$(MANDIR)/man7/fed.7

clean:
	rm -rf $(B) build-san build-fuzz
