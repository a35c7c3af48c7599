# Dot-unstuffing (RFC 5321 4.5.2): a leading dot is removed; ".." alone becomes "."; dots elsewhere stay.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: Subject: dots
C:
C: ..
C: ...
C: ..leading
C: .. space
C: middle . dot
C: trailing.
C: ..
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
@contains Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n. space\r\nmiddle . dot\r\ntrailing.\r\n.\r\n
@absent ...
