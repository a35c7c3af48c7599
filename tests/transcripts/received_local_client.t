# A local client (a pipe, no address): "from HELO" with no address comment, Trusted: yes, no Client- fields.
C: EHLO helo.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<b@example.com>
C: DATA
C: hi
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
@contains \n\nReceived: from helo.example
@absent Received: from helo.example (
@contains by mx.test.example with ESMTP id 
@contains Trusted: yes\n
@absent Client-Address:
