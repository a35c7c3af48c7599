# --max-size 100: a 100-octet message is queued; 101 octets get 552 5.3.4 after the data, nothing spooled, session goes on.
@args --max-size 100
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<exact@example.com>
C: DATA
C: line0000
C: line0001
C: line0002
C: line0003
C: line0004
C: line0005
C: line0006
C: line0007
C: line0008
C: line0009
C: .
C: MAIL FROM:<a@example.org>
C: RCPT TO:<toobig@example.com>
C: DATA
C: line0000
C: line0001
C: line0002
C: line0003
C: line0004
C: line0005
C: line0006
C: line0007
C: line0008
C: line0009
C: x
C: .
C: MAIL FROM:<a@example.org> SIZE=101
C: MAIL FROM:<a@example.org>
C: RCPT TO:<after@example.com>
C: DATA
C: small
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: 250-mx.test.example
S: 250-SIZE 100
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250-*
S: 250 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 552 5.3.4 *
S: 552 5.3.4 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@tmp 0
@exit 0
@contains line0009\r\n
@absent toobig@
