# --lf: a hand-written transcript with LF line ends works; LF.LF ends the data, stored with CRLF.
@args --lf
C~ EHLO client.example\nMAIL FROM:<a@example.org>\nRCPT TO:<b@example.com>\nDATA\n
C~ Subject: lf\n\n..dot\nline two\n.\n
C~ MAIL FROM:<a@example.org>\nRCPT TO:<c@example.com>\nDATA\nsecond\n.\nQUIT\n
S: 220 mx.test.example ESMTP*
S: EHLO-REPLY
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 250 2.1.0 *
S: 250 2.1.5 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 2
@exit 0
@contains Subject: lf\r\n\r\n.dot\r\nline two\r\n
@contains \r\nsecond\r\n
@absent \n\n.dot
