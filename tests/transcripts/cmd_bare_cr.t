# A bare CR inside a command line (or CR CR LF) is not a line end: 500 5.5.2, the hidden QUIT is not run.
C: EHLO client.example
C: NOOP\rQUIT
C~ RSET\r\r\n
C: MAIL FROM:<a@example.org>\rRCPT TO:<b@example.com>
C: RCPT TO:<b@example.com>
C: NOOP
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 500 5.5.2 *
S: 500 5.5.2 *
S: 500 5.5.2 *
S: 503 5.5.1 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@exit 0
