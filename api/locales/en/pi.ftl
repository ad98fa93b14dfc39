# The hosted /pi page, in English. Every other language's file has the same messages.
# { $dealer } is the dealer's display name.

## Every page
skip-to-content = Skip to the main content
language-switch = Language
footer-about = This page lets you see, correct or withdraw the personal information { $dealer } holds about you, as the Protection of Personal Information Act (POPIA) allows.
sign-out = Sign out
error-summary-title = There is a problem
back-to-records = Back to your information
start-again = Start again
yes = Yes
no = No
not-given = Not given

## Step 1: who you are
identify-title = See the information we hold about you
identify-intro = First prove that an email address or mobile number is yours. Then you can see what { $dealer } holds under it, correct it, or withdraw your consent.
email-label = Email address
email-hint = We will send a six-digit code to this address.
mobile-label = Mobile number
mobile-hint = A South African number, such as 083 656 7788. We will send a six-digit code by SMS.
use-mobile-instead = Use my mobile number instead
use-email-instead = Use my email address instead
send-code = Send me a code
session-ended = Your session ended. Prove your email address or mobile number again to continue.

## Step 2: the code
code-title = Enter your code
code-sent-email = We sent a six-digit code to { $identifier }. It works for 10 minutes.
code-sent-sms = We sent a six-digit code by SMS to { $identifier }. It works for 10 minutes.
code-label = Six-digit code
code-hint = The code is in the message we sent. You can paste it.
confirm-code = Continue
resend-title = No code?
resend-intro = Check your spam folder, or ask for a new code.
resend-code = Send a new code
code-resent = We sent a new code.
use-another = Use a different email address or mobile number

## Errors
error-email = Enter an email address, such as name@example.com.
error-mobile = Enter a South African mobile number, such as 083 656 7788.
error-code-format = Enter the six digits of the code.
error-wrong-code = That code is wrong. { $left ->
    [one] You have 1 more try.
   *[other] You have { $left } more tries.
}
error-wrong-code-last = That code is wrong, and that was the last try. Ask for a new code.
error-code-gone = This code can no longer be used: it expired, was already used, or was entered wrongly too often. Ask for a new code.
error-too-many = Too many codes were asked for. Try again in { $wait }.
error-locked = Too many wrong codes were entered. Try again in { $wait }.
wait-minutes = { $minutes ->
    [one] 1 minute
   *[other] { $minutes } minutes
}
wait-hours = { $hours ->
    [one] 1 hour
   *[other] { $hours } hours
}
error-name = Enter a name of 1 to 100 characters.
error-identifier-blocked = This email address or mobile number asked not to be contacted, so it cannot be added to your record.
error-changed = Your record changed while you were correcting it. Here it is as it is now: check it and save again.
error-cannot-text = We cannot send a code by SMS to this number. Use a South African mobile number, or your email address.
error-gone = This record was withdrawn meanwhile, so there is nothing left to change.
error-refused = That could not be done with what was given. Go back and check it.
error-unavailable = The service is busy. Try again in a few seconds.
error-generic = Something went wrong on our side. Try again; if it keeps happening, contact { $dealer }.
forbidden-title = This form could not be accepted
forbidden-text = The form was sent without its security check, or from another website. Start again from the first page.
not-found-title = Page not found
not-found-text = There is no such page. Check the address { $dealer } gave you.
not-found-dealer = There is no such dealer. Check the address you were given.

## Step 3: what is held
records-title = Your information at { $dealer }
signed-in-as = You proved that { $identifier } is yours.
nothing-held = { $dealer } holds no information under { $identifier }. Its privacy team has been told that you asked, and will check its other systems.
blacklisted = You withdrew your consent earlier. { $dealer } keeps { $identifier } only on its do-not-contact list, so that nobody contacts you again.
record-heading = Customer record { $id }
field-first-name = First name
field-last-name = Surname
field-email = Email address
field-mobile = Mobile number
field-consent-process = May process your information
field-consent-market = May send you marketing
field-consent-source = Where your consent came from
leads-heading = Your enquiries
leads-caption = Enquiries in customer record { $id }
lead-vehicle = Vehicle
lead-status = Status
lead-salesperson = Salesperson
lead-date = Date
lead-status-active = Open
lead-status-won = Sold
lead-status-lost = Closed
no-leads = No enquiries.
edit-details = Correct these details
third-parties-title = Who has had access to { $dealer }'s information
third-parties-intro = These operators and systems received { $dealer }'s do-not-contact lists or its record of changes.
third-party-name = Name
third-party-category = Kind
third-party-accessed = What they received
third-party-last = Last time
category-operator = Marketing operator
category-dealer = { $dealer }'s own system
category-admin = Gateway administrator
access-blacklists = do-not-contact lists
access-change-feed = record of changes
withdraw-title = Withdraw your consent
withdraw-intro = You can ask { $dealer } to stop processing your information.
withdraw-link = Withdraw my consent
status-saved = Your details are saved, and { $dealer } has been told.
status-unchanged = Nothing changed.
status-identifier-changed = Your new contact detail is confirmed and saved.

## Step 4: correct details
edit-title = Correct your details
edit-intro = Change your name, or whether { $dealer } may send you marketing.
consent-market-label = { $dealer } may send me marketing
save = Save
new-email-title = Change your email address
new-mobile-title = Change your mobile number
new-identifier-intro = We will send a code to the new one, to check that it is yours.
new-email-label = New email address
new-mobile-label = New mobile number
send-code-new = Send a code
identifier-code-title = Confirm your new contact detail

## Step 5: withdraw
withdraw-what-happens = If you withdraw your consent:
withdraw-point-record = your customer record is de-identified: your name, email address and mobile number are removed from it;
withdraw-point-leads = your open enquiries are closed, and the salespeople working on them are told;
withdraw-point-lists = your email address and mobile number are kept only on { $dealer }'s do-not-contact lists, each on its own and not linked to you, so that nobody contacts you again;
withdraw-point-final = this cannot be undone. You can become a customer again later.
withdraw-confirm = Withdraw my consent
withdraw-cancel = Keep my information

## Done
done-title = Done
done-withdrawn = You withdrew your consent. { $dealer } has been told, and your record is de-identified. You are signed out.
done-nothing-held = Nothing was held under this email address or mobile number, so there was nothing to withdraw. You are signed out.
done-signed-out = You are signed out.
done-identifier-moved = Your new contact detail is confirmed and saved. You are signed out: sign in with the new one to see your information.
