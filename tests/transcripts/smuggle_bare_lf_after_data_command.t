# "DATA\n" with a bare LF is not run (500 5.5.2), so the message text that follows is read as commands and the header line ends the session.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C~ DATA\n
C: Subject: x
C:
C: body
C: .
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 500 5.5.2 *
S: 421 4.7.0 *
@new 0
@tmp 0
@exit 1
