# NUL in a command line: 500 5.5.2 and the command is not executed.
C: EHLO client.example
C: NOOP\0
C: MAIL FROM:<a\0@example.org>
C: RCPT TO:<b@example.com>
C: \0
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.2 *
S: 500 5.5.2 *
S: 503 5.5.1 *
S: 500 5.5.2 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
