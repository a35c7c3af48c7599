# Octet limits (RFC 5321 4.5.3.1): local part 64, path 256 with brackets; over them 501 (path too long).
C: EHLO client.example
C: MAIL FROM:<llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@example.org>
C: RCPT TO:<llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc>
C: RCPT TO:<llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc>
C: RCPT TO:<llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllx@example.com>
C: DATA
C: hi
C: .
C: MAIL FROM:<llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllx@example.org>
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 501 5.1.3 *
S: 501 5.1.3 *
S: 354 *
S: 250 2.0.0 *
S: 501 5.1.7 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllll@aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.ccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc>\n
@absent llllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllllx
