# NOTIFY and ORCPT (RFC 3461) on RCPT are validated and kept with their own recipient.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<one@example.com> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT=rfc822;one+2Bx@example.com
C: RCPT TO:<two@example.com> NOTIFY=NEVER
C: RCPT TO:<three@example.com> ORCPT=rfc822;three@example.com
C: RCPT TO:<four@example.com>
C: DATA
C: hi
C: .
C: QUIT
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <one@example.com>\nNotify: SUCCESS,FAILURE,DELAY\nORCPT: rfc822;one+2Bx@example.com\nRecipient: <two@example.com>\nNotify: NEVER\nRecipient: <three@example.com>\nORCPT: rfc822;three@example.com\nRecipient: <four@example.com>\n\n
