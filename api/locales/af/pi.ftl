# Die gehuisveste /pi-bladsy, in Afrikaans. Elke boodskap van en/pi.ftl is hier.
# { $dealer } is die handelaar se vertoonnaam.

## Elke bladsy
skip-to-content = Slaan oor na die hoofinhoud
language-switch = Taal
footer-about = Op hierdie bladsy kan u die persoonlike inligting wat { $dealer } oor u hou, sien, regstel of u toestemming terugtrek, soos die Wet op die Beskerming van Persoonlike Inligting (POPIA) toelaat.
sign-out = Teken uit
error-summary-title = Daar is 'n probleem
back-to-records = Terug na u inligting
start-again = Begin weer
yes = Ja
no = Nee
not-given = Nie gegee nie

## Stap 1: wie u is
identify-title = Sien die inligting wat ons oor u hou
identify-intro = Bewys eers dat 'n e-posadres of selfoonnommer aan u behoort. Dan kan u sien wat { $dealer } daaronder hou, dit regstel, of u toestemming terugtrek.
email-label = E-posadres
email-hint = Ons stuur 'n sessyferkode na hierdie adres.
mobile-label = Selfoonnommer
mobile-hint = 'n Suid-Afrikaanse nommer, soos 083 656 7788. Ons stuur 'n sessyferkode per SMS.
use-mobile-instead = Gebruik eerder my selfoonnommer
use-email-instead = Gebruik eerder my e-posadres
send-code = Stuur vir my 'n kode
session-ended = U sessie het verval. Bewys weer u e-posadres of selfoonnommer om voort te gaan.

## Stap 2: die kode
code-title = Tik u kode in
code-sent-email = Ons het 'n sessyferkode na { $identifier } gestuur. Dit is 10 minute geldig.
code-sent-sms = Ons het 'n sessyferkode per SMS na { $identifier } gestuur. Dit is 10 minute geldig.
code-label = Sessyferkode
code-hint = Die kode is in die boodskap wat ons gestuur het. U kan dit plak.
confirm-code = Gaan voort
resend-title = Geen kode nie?
resend-intro = Kyk in u gemorspos, of vra vir 'n nuwe kode.
resend-code = Stuur 'n nuwe kode
code-resent = Ons het 'n nuwe kode gestuur.
use-another = Gebruik 'n ander e-posadres of selfoonnommer

## Foute
error-email = Tik 'n e-posadres in, soos naam@voorbeeld.co.za.
error-mobile = Tik 'n Suid-Afrikaanse selfoonnommer in, soos 083 656 7788.
error-code-format = Tik die ses syfers van die kode in.
error-wrong-code = Daardie kode is verkeerd. { $left ->
    [one] U het nog 1 probeerslag.
   *[other] U het nog { $left } probeerslae.
}
error-wrong-code-last = Daardie kode is verkeerd, en dit was die laaste probeerslag. Vra vir 'n nuwe kode.
error-code-gone = Hierdie kode kan nie meer gebruik word nie: dit het verval, is reeds gebruik, of is te veel kere verkeerd ingetik. Vra vir 'n nuwe kode.
error-too-many = Te veel kodes is aangevra. Probeer weer oor { $wait }.
error-locked = Te veel verkeerde kodes is ingetik. Probeer weer oor { $wait }.
wait-minutes = { $minutes ->
    [one] 1 minuut
   *[other] { $minutes } minute
}
wait-hours = { $hours ->
    [one] 1 uur
   *[other] { $hours } uur
}
error-name = Tik 'n naam van 1 tot 100 karakters in.
error-identifier-blocked = Hierdie e-posadres of selfoonnommer het gevra om nie gekontak te word nie, en kan dus nie by u rekord gevoeg word nie.
error-changed = U rekord het verander terwyl u dit reggestel het. Hier is dit soos dit nou is: kyk daarna en stoor weer.
error-cannot-text = Ons kan nie 'n kode per SMS na hierdie nommer stuur nie. Gebruik 'n Suid-Afrikaanse selfoonnommer, of u e-posadres.
error-gone = Hierdie rekord is intussen teruggetrek, dus is daar niks oor om te verander nie.
error-refused = Dit kon nie gedoen word met wat gegee is nie. Gaan terug en kyk daarna.
error-unavailable = Die diens is besig. Probeer oor 'n paar sekondes weer.
error-generic = Iets het aan ons kant skeefgeloop. Probeer weer; as dit aanhou gebeur, kontak { $dealer }.
forbidden-title = Hierdie vorm kon nie aanvaar word nie
forbidden-text = Die vorm is sonder sy sekuriteitskontrole gestuur, of van 'n ander webwerf af. Begin weer by die eerste bladsy.
not-found-title = Bladsy nie gevind nie
not-found-text = Daar is nie so 'n bladsy nie. Kyk na die adres wat { $dealer } vir u gegee het.
not-found-dealer = Daar is nie so 'n handelaar nie. Kyk na die adres wat u gekry het.

## Stap 3: wat gehou word
records-title = U inligting by { $dealer }
signed-in-as = U het bewys dat { $identifier } aan u behoort.
nothing-held = { $dealer } hou geen inligting onder { $identifier } nie. Sy privaatheidspan is in kennis gestel dat u gevra het, en sal sy ander stelsels nagaan.
blacklisted = U het u toestemming vroeër teruggetrek. { $dealer } hou { $identifier } net op sy moenie-kontak-nie-lys, sodat niemand u weer kontak nie.
record-heading = Kliëntrekord { $id }
field-first-name = Voornaam
field-last-name = Van
field-email = E-posadres
field-mobile = Selfoonnommer
field-consent-process = Mag u inligting verwerk
field-consent-market = Mag vir u bemarking stuur
field-consent-source = Waar u toestemming vandaan kom
leads-heading = U navrae
leads-caption = Navrae in kliëntrekord { $id }
lead-vehicle = Voertuig
lead-status = Status
lead-salesperson = Verkoopspersoon
lead-date = Datum
lead-status-active = Oop
lead-status-won = Verkoop
lead-status-lost = Gesluit
no-leads = Geen navrae nie.
edit-details = Stel hierdie besonderhede reg
third-parties-title = Wie toegang tot { $dealer } se inligting gehad het
third-parties-intro = Hierdie operateurs en stelsels het { $dealer } se moenie-kontak-nie-lyste of sy rekord van veranderinge ontvang.
third-party-name = Naam
third-party-category = Soort
third-party-accessed = Wat hulle ontvang het
third-party-last = Laaste keer
category-operator = Bemarkingsoperateur
category-dealer = { $dealer } se eie stelsel
category-admin = Administrateur van die diens
access-blacklists = moenie-kontak-nie-lyste
access-change-feed = rekord van veranderinge
withdraw-title = Trek u toestemming terug
withdraw-intro = U kan { $dealer } vra om op te hou om u inligting te verwerk.
withdraw-link = Trek my toestemming terug
status-saved = U besonderhede is gestoor, en { $dealer } is in kennis gestel.
status-unchanged = Niks het verander nie.
status-identifier-changed = U nuwe kontakbesonderheid is bevestig en gestoor.

## Stap 4: stel besonderhede reg
edit-title = Stel u besonderhede reg
edit-intro = Verander u naam, of kies of { $dealer } vir u bemarking mag stuur.
consent-market-label = { $dealer } mag vir my bemarking stuur
save = Stoor
new-email-title = Verander u e-posadres
new-mobile-title = Verander u selfoonnommer
new-identifier-intro = Ons stuur 'n kode na die nuwe een, om seker te maak dat dit aan u behoort.
new-email-label = Nuwe e-posadres
new-mobile-label = Nuwe selfoonnommer
send-code-new = Stuur 'n kode
identifier-code-title = Bevestig u nuwe kontakbesonderheid

## Stap 5: trek terug
withdraw-what-happens = As u u toestemming terugtrek:
withdraw-point-record = word u kliëntrekord ontidentifiseer: u naam, e-posadres en selfoonnommer word daaruit verwyder;
withdraw-point-leads = word u oop navrae gesluit, en die verkoopspersone wat daaraan werk, word in kennis gestel;
withdraw-point-lists = word u e-posadres en selfoonnommer net op { $dealer } se moenie-kontak-nie-lyste gehou, elkeen op sy eie en nie aan u gekoppel nie, sodat niemand u weer kontak nie;
withdraw-point-final = kan dit nie ongedaan gemaak word nie. U kan later weer 'n kliënt word.
withdraw-confirm = Trek my toestemming terug
withdraw-cancel = Hou my inligting

## Klaar
done-title = Klaar
done-withdrawn = U het u toestemming teruggetrek. { $dealer } is in kennis gestel, en u rekord is ontidentifiseer. U is uitgeteken.
done-nothing-held = Niks is onder hierdie e-posadres of selfoonnommer gehou nie, dus was daar niks om terug te trek nie. U is uitgeteken.
done-signed-out = U is uitgeteken.
done-identifier-moved = U nuwe kontakbesonderheid is bevestig en gestoor. U is uitgeteken: teken met die nuwe een in om u inligting te sien.
