# The client's bytes follow our Received line exactly, CRLF kept, tabs and trailing spaces intact.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: From: <a@example.org>
C: Subject: folded
C: \tcontinuation  \x20
C:
C: \tbody with tab \x20
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
@contains \r\nFrom: <a@example.org>\r\nSubject: folded\r\n\tcontinuation   \r\n\r\n\tbody with tab  \r\n
