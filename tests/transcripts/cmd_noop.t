# NOOP, with or without an argument (RFC 5321 4.1.1.9), before and after HELO: 250 2.0.0.
C: NOOP
C: EHLO client.example
C: NOOP
C: NOOP anything at all
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250 2.0.0 *
S: EHLO-REPLY
S: 250 2.0.0 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
