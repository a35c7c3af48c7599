# The default limit is 100 recipients: the 101st gets 452 4.5.3 and the message goes to the first 100.
C: EHLO client.example
C: MAIL FROM:<a@example.org>
C: RCPT TO:<r001@example.com>
C: RCPT TO:<r002@example.com>
C: RCPT TO:<r003@example.com>
C: RCPT TO:<r004@example.com>
C: RCPT TO:<r005@example.com>
C: RCPT TO:<r006@example.com>
C: RCPT TO:<r007@example.com>
C: RCPT TO:<r008@example.com>
C: RCPT TO:<r009@example.com>
C: RCPT TO:<r010@example.com>
C: RCPT TO:<r011@example.com>
C: RCPT TO:<r012@example.com>
C: RCPT TO:<r013@example.com>
C: RCPT TO:<r014@example.com>
C: RCPT TO:<r015@example.com>
C: RCPT TO:<r016@example.com>
C: RCPT TO:<r017@example.com>
C: RCPT TO:<r018@example.com>
C: RCPT TO:<r019@example.com>
C: RCPT TO:<r020@example.com>
C: RCPT TO:<r021@example.com>
C: RCPT TO:<r022@example.com>
C: RCPT TO:<r023@example.com>
C: RCPT TO:<r024@example.com>
C: RCPT TO:<r025@example.com>
C: RCPT TO:<r026@example.com>
C: RCPT TO:<r027@example.com>
C: RCPT TO:<r028@example.com>
C: RCPT TO:<r029@example.com>
C: RCPT TO:<r030@example.com>
C: RCPT TO:<r031@example.com>
C: RCPT TO:<r032@example.com>
C: RCPT TO:<r033@example.com>
C: RCPT TO:<r034@example.com>
C: RCPT TO:<r035@example.com>
C: RCPT TO:<r036@example.com>
C: RCPT TO:<r037@example.com>
C: RCPT TO:<r038@example.com>
C: RCPT TO:<r039@example.com>
C: RCPT TO:<r040@example.com>
C: RCPT TO:<r041@example.com>
C: RCPT TO:<r042@example.com>
C: RCPT TO:<r043@example.com>
C: RCPT TO:<r044@example.com>
C: RCPT TO:<r045@example.com>
C: RCPT TO:<r046@example.com>
C: RCPT TO:<r047@example.com>
C: RCPT TO:<r048@example.com>
C: RCPT TO:<r049@example.com>
C: RCPT TO:<r050@example.com>
C: RCPT TO:<r051@example.com>
C: RCPT TO:<r052@example.com>
C: RCPT TO:<r053@example.com>
C: RCPT TO:<r054@example.com>
C: RCPT TO:<r055@example.com>
C: RCPT TO:<r056@example.com>
C: RCPT TO:<r057@example.com>
C: RCPT TO:<r058@example.com>
C: RCPT TO:<r059@example.com>
C: RCPT TO:<r060@example.com>
C: RCPT TO:<r061@example.com>
C: RCPT TO:<r062@example.com>
C: RCPT TO:<r063@example.com>
C: RCPT TO:<r064@example.com>
C: RCPT TO:<r065@example.com>
C: RCPT TO:<r066@example.com>
C: RCPT TO:<r067@example.com>
C: RCPT TO:<r068@example.com>
C: RCPT TO:<r069@example.com>
C: RCPT TO:<r070@example.com>
C: RCPT TO:<r071@example.com>
C: RCPT TO:<r072@example.com>
C: RCPT TO:<r073@example.com>
C: RCPT TO:<r074@example.com>
C: RCPT TO:<r075@example.com>
C: RCPT TO:<r076@example.com>
C: RCPT TO:<r077@example.com>
C: RCPT TO:<r078@example.com>
C: RCPT TO:<r079@example.com>
C: RCPT TO:<r080@example.com>
C: RCPT TO:<r081@example.com>
C: RCPT TO:<r082@example.com>
C: RCPT TO:<r083@example.com>
C: RCPT TO:<r084@example.com>
C: RCPT TO:<r085@example.com>
C: RCPT TO:<r086@example.com>
C: RCPT TO:<r087@example.com>
C: RCPT TO:<r088@example.com>
C: RCPT TO:<r089@example.com>
C: RCPT TO:<r090@example.com>
C: RCPT TO:<r091@example.com>
C: RCPT TO:<r092@example.com>
C: RCPT TO:<r093@example.com>
C: RCPT TO:<r094@example.com>
C: RCPT TO:<r095@example.com>
C: RCPT TO:<r096@example.com>
C: RCPT TO:<r097@example.com>
C: RCPT TO:<r098@example.com>
C: RCPT TO:<r099@example.com>
C: RCPT TO:<r100@example.com>
C: RCPT TO:<r101@example.com>
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
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 250 2.1.5 *
S: 452 4.5.3 *
S: 354 *
S: 250 2.0.0 *
S: 221 2.0.0 *
@new 1
@exit 0
@contains Recipient: <r001@example.com>\n
@contains Recipient: <r100@example.com>\n\n
@absent r101@
