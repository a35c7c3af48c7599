# EOF in the middle of DATA: no reply after 354, nothing in new/ or tmp/, exit 1.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: Subject: cut
C:
C~ half a line
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
@new 0
@tmp 0
@exit 1
