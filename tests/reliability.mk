# tests/reliability.mk - fuzzing, valgrind, fault injection and stress
# (issue 5), included at the end of the Makefile.
#   make fuzz            libFuzzer targets, FUZZ_SECONDS each (default 300)
#   make valgrind-test   the whole suite, every smtpd under valgrind
#   make stress          kill, load, hostile-client and big-input tests
# The fuzz build is clang-only and lives in tests/fuzz/obj: it never
# mixes with the objects of the normal build.

FUZZ_CC		?= clang
FUZZ_SECONDS	?= 300
FUZZ_DIR	 = tests/fuzz
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
FUZZ_CFLAGS	 = $(STD) $(WARN) $(CPPFLAGS) -g -O1 $(FUZZ_SAN) $(RECEIVER_INC)
FUZZ_HAVE_SPOOLFMT = $(if $(wildcard lib/spoolfmt.h lib/spoolfmt.c),1,)
FUZZ_SRCS	 = $(sort $(filter-out smtpd.o,$(OBJS)) \
		   $(if $(FUZZ_HAVE_SPOOLFMT),lib/spoolfmt.o))
FUZZ_OBJS	 = $(addprefix $(FUZZ_DIR)/obj/,$(FUZZ_SRCS))
# fuzz_starttls: smtpd with TLS, and OpenSSL's headers for its client
FUZZ_HAVE_TLS	:= $(if $(filter 1,$(WITH_TLS)),$(shell pkg-config --exists \
		   openssl 2>/dev/null && echo 1))
FUZZ_TARGETS	 = $(FUZZ_DIR)/fuzz_session $(FUZZ_DIR)/fuzz_addr \
		   $(FUZZ_DIR)/fuzz_proxy $(FUZZ_DIR)/fuzz_milter \
		   $(FUZZ_DIR)/fuzz_msgedit \
		   $(if $(FUZZ_HAVE_SPOOLFMT),$(FUZZ_DIR)/fuzz_spoolfmt \
		   $(FUZZ_DIR)/fuzz_auth) \
		   $(if $(FUZZ_HAVE_TLS),$(FUZZ_DIR)/fuzz_starttls)
FUZZ_DEFS	 = $(if $(FUZZ_HAVE_SPOOLFMT),-DHAVE_SPOOLFMT)
FAULT_SHIM	 = tests/fault/faultshim.so

# the objects are rebuilt when the compiler or its flags change
$(FUZZ_DIR)/obj/.flags: fuzz-force
	@mkdir -p $(FUZZ_DIR)/obj
	@echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' | cmp -s - $@ || \
	    echo '$(FUZZ_CC) $(FUZZ_CFLAGS)' > $@

$(FUZZ_DIR)/obj/%.o: %.c $(wildcard *.h receiver/*.h lib/*.h) \
	    $(FUZZ_DIR)/obj/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# what the session fuzzers check alike: tests/fuzz/fuzzcheck.c
FUZZ_CHECK	 = $(FUZZ_DIR)/obj/fuzzcheck.o
$(FUZZ_CHECK): $(FUZZ_DIR)/fuzzcheck.c $(FUZZ_DIR)/fuzzcheck.h \
	    $(wildcard *.h receiver/*.h lib/*.h) $(FUZZ_DIR)/obj/.flags
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) -fsanitize=fuzzer-no-link \
	    -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/fuzz_%.c $(FUZZ_OBJS) $(FUZZ_CHECK) \
	    $(wildcard *.h receiver/*.h lib/*.h) $(FUZZ_DIR)/fuzzcheck.h \
	    $(FUZZ_DIR)/obj/.flags
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) -Wno-unused-function \
	    -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(FUZZ_CHECK) \
	    $(FUZZ_LDFLAGS) $(LDLIBS) -lpthread

# fuzz_session reads its input in pieces through its own read()
$(FUZZ_DIR)/fuzz_session: FUZZ_LDFLAGS = -Wl,--wrap=read
# fuzz_starttls learns from read() when the session waits for its
# client, and is that client through OpenSSL (the libssl that the libtls
# smtpd dlopen's runs on)
$(FUZZ_DIR)/fuzz_starttls: FUZZ_LDFLAGS = -Wl,--wrap=read \
	    $(shell pkg-config --libs openssl)
$(FUZZ_DIR)/fuzz_starttls: FUZZ_DEFS += $(shell pkg-config --cflags openssl)
# fuzz_auth reads in pieces, keeps smtpd's log (write on fd 2), skips the
# failed-AUTH waits (poll(NULL, 0, ms)) and answers for the checkpassword
# program (hook_run) itself
$(FUZZ_DIR)/fuzz_auth: FUZZ_LDFLAGS = -Wl,--wrap=read,--wrap=write \
	    -Wl,--wrap=poll,--wrap=hook_run
# fuzz_proxy hands proxy_read the next piece of its socketpair each time
# it polls
$(FUZZ_DIR)/fuzz_proxy: FUZZ_LDFLAGS = -Wl,--wrap=poll

fuzz-build: $(FUZZ_TARGETS)

.SECONDARY: $(FUZZ_OBJS) $(FUZZ_CHECK)

fuzz: fuzz-build
	FUZZ_SECONDS=$(FUZZ_SECONDS) sh $(FUZZ_DIR)/run.sh $(FUZZ_TARGETS)

fuzz-corpus:
	python3 $(FUZZ_DIR)/mkcorpus.py

fuzz-clean:
	rm -rf $(FUZZ_DIR)/obj $(FUZZ_DIR)/fuzz_session $(FUZZ_DIR)/fuzz_addr \
	    $(FUZZ_DIR)/fuzz_spoolfmt $(FUZZ_DIR)/fuzz_starttls \
	    $(FUZZ_DIR)/fuzz_auth $(FUZZ_DIR)/fuzz_proxy \
	    $(FUZZ_DIR)/fuzz_milter $(FUZZ_DIR)/fuzz_msgedit $(FAULT_SHIM)

# the LD_PRELOAD shim that fails write/fsync/rename/link/openat on demand;
# never built with the sanitizers (it is preloaded into any build)
$(FAULT_SHIM): tests/fault/faultshim.c
	$(CC) $(STD) $(WARN) -O2 -g -fPIC -shared -o $@ \
	    tests/fault/faultshim.c -ldl

test: $(FAULT_SHIM)

valgrind-test: smtpd $(if $(QOBJS),smtpd-queue) $(UNIT) $(TOOLS) $(FAULT_SHIM)
	sh tests/deps.sh
	sh tests/valgrind/run.sh

stress: smtpd $(TOOLS) $(FAULT_SHIM)
	sh tests/deps.sh
	sh tests/stress/run.sh

clean: fuzz-clean

fuzz-force:

.PHONY: fuzz fuzz-build fuzz-corpus fuzz-clean fuzz-force valgrind-test \
	stress
