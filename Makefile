# Makefile - build, test and install smtpd.
#   make                 build ./smtpd (gcc or clang: CC=clang)
#   make test            install test dependencies if missing, run all tests
#   make SANITIZE=1 test the same under AddressSanitizer + UBSan
#   make demo            build and run one session into ./queue

CC	?= cc
CFLAGS	?= -O2 -g
STD	 = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN	 = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	   -Wmissing-prototypes -Wformat=2
ifeq ($(SANITIZE),1)
CFLAGS	+= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
LDFLAGS	+= -fsanitize=address,undefined
endif
# libsystemd is optional: found by pkg-config, WITH_SYSTEMD=0 turns it
# off.  It is dlopen'ed only when used (socket activation, journal), so
# only its headers are needed to build.  STATIC=1 links statically,
# without it.
ifeq ($(STATIC),1)
WITH_SYSTEMD = 0
LDFLAGS	+= -static
endif
WITH_SYSTEMD ?= $(shell pkg-config --exists libsystemd 2>/dev/null && \
	   echo 1 || echo 0)
ifeq ($(WITH_SYSTEMD),1)
CPPFLAGS += -DHAVE_LIBSYSTEMD $(shell pkg-config --cflags libsystemd)
endif
ALL_CFLAGS = $(STD) $(WARN) $(CFLAGS) $(CPPFLAGS)

OBJS	 = smtpd.o session.o transaction.o data.o spool.o envelope.o addr.o policy.o \
	   reply.o io.o log.o sbuf.o sdglue.o checks.o hook.o rcptlist.o cdb.o
UNIT	 = tests/unit/addr_test
TOOLS	 = tests/tools/maxrss

all: smtpd

smtpd: $(OBJS)
	$(CC) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

%.o: %.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

tests/tools/maxrss: tests/tools/maxrss.c
	$(CC) $(ALL_CFLAGS) -o $@ tests/tools/maxrss.c

tests/unit/addr_test: tests/unit/addr_test.c addr.o
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ tests/unit/addr_test.c addr.o

$(OBJS): config.h policy.h addr.h io.h log.h sbuf.h reply.h spool.h \
	 envelope.h data.h session.h sdglue.h hook.h rcptlist.h cdb.h

# demo: build, then run one real session (examples/hello.smtp, a
# transcript with CRLF line ends added) into ./queue and show the result
demo: smtpd
	@sed 's/$$/\r/' examples/hello.smtp | ./smtpd --queue ./queue \
	    --hostname mx.demo.example
	@echo "--- queued in ./queue/new:"
	@f=$$(ls -t queue/new | head -1); echo "queue/new/$$f"; \
	    cat "queue/new/$$f" | tr -d '\r'

test: smtpd $(UNIT) $(TOOLS)
	sh tests/deps.sh
	sh tests/run.sh

clean:
	rm -f smtpd $(OBJS) $(UNIT) $(TOOLS)

.PHONY: all demo test clean
