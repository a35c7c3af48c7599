# The size limit counts the message after dot-unstuffing (RFC 1870): 110 octets sent, 100 stored, with --max-size 100 is fine.
@args --max-size 100
C: EHLO client.example
C: MAIL FROM:<a@example.org> SIZE=100
C: RCPT TO:<b@example.com>
C: DATA
C: ..ine0000
C: ..ine0001
C: ..ine0002
C: ..ine0003
C: ..ine0004
C: ..ine0005
C: ..ine0006
C: ..ine0007
C: ..ine0008
C: ..ine0009
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains .ine0009\r\n
