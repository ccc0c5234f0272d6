// Small talk and emotionally loaded situations: hand-written, with the reply's
// content kept free of style markers (see replyContent.ts). Each entry has a few
// request phrasings so the model sees the same situation asked in several ways.

export interface ConversationEntry {
  requests: readonly string[];
  answer: string;
  reasons: readonly string[];
  extras: readonly string[];
}

export const smallTalk: readonly ConversationEntry[] = [
  {
    requests: ['How are you today?', 'How are you doing?', 'How is your day going?'],
    answer: 'Everything is running smoothly at Hollyhock Cottage today.',
    reasons: ['It is a calm day because the heating and the lights are all on schedule.', 'That is a good sign since nothing in the house needs fixing.'],
    extras: ['The robot vacuum already finished the hallway.', 'The kitchen speaker is ready for your music.'],
  },
  {
    requests: ['What do you think about rainy days?', 'Do you like rainy days?', 'Is rain nice?'],
    answer: 'Rainy days are good for reading and a bowl of Tillery tomato soup.',
    reasons: ['The garden enjoys them too because the soil stays soft.', 'They are restful since there is no pressure to go out.'],
    extras: ['Brindlemoor Library is open until 7:15 pm for a new book.', 'The garden sprinkler can take a night off after rain.'],
  },
  {
    requests: ['Tell me something nice.', 'Say something cheerful.', 'Any good news today?'],
    answer: 'The Lantern Fair comes to Brindlemoor on the last Saturday of June.',
    reasons: ['It is a highlight of the year because the whole town lights lanterns along the Wendle.', 'It brings everyone together since every street joins in.'],
    extras: ['The Brindlemoor Badgers play a home match that weekend too.', 'Thimble Bakery makes lantern buns for the fair.'],
  },
  {
    requests: ['Do you like music?', 'What music do you enjoy?', 'Are you into music?'],
    answer: 'Music is a treat, and the Bumblebee Waltz on our doorbell is a favourite.',
    reasons: ['It suits the house because the tune is short and bright.', 'A tune helps since a quiet house can feel empty.'],
    extras: ['Pebble, the kitchen speaker, can play something while you cook.', 'Isolde Marchbank tunes pianos all over town.'],
  },
  {
    requests: ['What should I do this weekend?', 'Any ideas for the weekend?', 'How should I spend Saturday?'],
    answer: 'A visit to Ravelstone Museum on Saturday morning is a fine plan.',
    reasons: ['It is a good choice because the new map room opened this month.', 'The morning is best since the museum is quiet before lunch.'],
    extras: ['The Hobnail Tearoom is close by for lunch afterwards.', 'Oddleigh Market is on for fresh bread and cheese.'],
  },
  {
    requests: ['What is your favourite season?', 'Which season do you like best?', 'Do you have a favourite season?'],
    answer: 'Autumn is the favourite here, with crisp mornings and warm evenings indoors.',
    reasons: ['It is cosy because the heating and the porch light come on earlier.', 'The kitchen is busiest then since quince crumble is in season.'],
    extras: ['The garden needs less watering in autumn.', 'The Moorland Gazette runs its harvest recipes in October.'],
  },
  {
    requests: ['Good morning!', 'Morning!', 'Hello there!'],
    answer: 'The house is warm this morning and the kettle is ready.',
    reasons: ['It is already cosy because the heating came on at 6:20 am.', 'The day starts well since the bins are already out.'],
    extras: ['Thimble Bakery opened at 6 am for fresh bread.', 'The forecast says the rain stops by noon.'],
  },
  {
    requests: ['I am bored.', 'There is nothing to do today.', 'Give me something to do.'],
    answer: 'A walk up Crookback Hill is a good way to spend an hour.',
    reasons: ['It is worth it because the view over Brindlemoor is wide and clear today.', 'A walk helps since fresh air changes the mood quickly.'],
    extras: ['Wyvern Cinema has an afternoon showing too.', 'The Moorland Gazette has a new crossword out.'],
  },
];

export const emotionalSituations: readonly ConversationEntry[] = [
  {
    requests: ['I failed my driving test today.', 'I did not pass my driving test.', 'My driving test went badly and I failed.'],
    answer: 'You can book another driving test in a few weeks.',
    reasons: ['Most people pass on the second try because they know what to expect.', 'A short gap helps since the lessons are still fresh.'],
    extras: ['A couple of extra lessons on the tricky parts will help.', 'The test centre sends the examiner notes by post.'],
  },
  {
    requests: ['My cat has been ill all week.', 'My cat is sick and not eating.', 'I am worried about my cat, she is unwell.'],
    answer: 'The best step is to take her to Mossgrove Clinic tomorrow morning.',
    reasons: ['A vet should see her because a week is a long time to be unwell.', 'Early is better since the clinic opens at 7:30 am.'],
    extras: ['It helps to keep fresh water near her bed tonight.', 'A note of what she ate this week is useful for the vet.'],
  },
  {
    requests: ['I did not get the job I applied for.', 'They turned me down for the job.', 'I got rejected from the job at the bakery.'],
    answer: 'You can ask them for feedback on your interview.',
    reasons: ['Feedback is useful because it shows what to change next time.', 'It is worth asking since most employers reply within a week.'],
    extras: ['The Town Hall board lists new openings every Monday.', 'A second interview often goes better with practice.'],
  },
  {
    requests: ['I had a fight with my sister.', 'My sister and I argued badly.', 'I fell out with my sister today.'],
    answer: 'You can send her a short message once you both feel calmer.',
    reasons: ['Waiting a day helps because tempers cool overnight.', 'A short message works best since it leaves room for her reply.'],
    extras: ['It helps to say how you felt without blaming her.', 'A walk together is a good way to talk things through.'],
  },
  {
    requests: ['I cannot sleep, my exam is tomorrow.', 'I am too nervous to sleep before my exam.', 'My exam is tomorrow and I am wide awake.'],
    answer: 'A warm drink and ten slow breaths will help you settle tonight.',
    reasons: ['Your body relaxes because the routine signals bedtime.', 'It matters to rest since a tired mind recalls less.'],
    extras: ['It is best to put your notes away for the night.', 'The bedroom thermostat is already at 17 degrees for sleep.'],
  },
  {
    requests: ['The storm ruined my vegetable garden.', 'All my vegetables were flattened by the storm.', 'The wind destroyed my garden beds.'],
    answer: 'You can replant quick crops like radishes this week.',
    reasons: ['Radishes are a good choice because they grow in about a month.', 'Replanting now works since the soil is still warm.'],
    extras: ['Tillery Garden Centre sells seedlings until 5:50 pm.', 'A few stakes will protect the beds next time.'],
  },
  {
    requests: ['My best friend is moving away.', 'My closest friend is leaving town.', 'My friend moves to another country next week.'],
    answer: 'You can plan a regular video call with your friend.',
    reasons: ['A fixed day helps because it keeps you in touch.', 'It is easier than it sounds since calls take little planning.'],
    extras: ['A farewell dinner at the Netherby Inn is a nice way to say goodbye.', 'Letters are a nice surprise from time to time.'],
  },
  {
    requests: ['I burnt the dinner for my guests.', 'I ruined dinner and my guests are here.', 'The roast is burnt and everyone is waiting.'],
    answer: 'You can serve Pellow pancakes instead, which take only 12 minutes.',
    reasons: ['Guests rarely mind because the company matters more than the food.', 'Pancakes are a safe choice since the ingredients are usually in the cupboard.'],
    extras: ['A simple salad on the side makes it a full meal.', 'The Hobnail Tearoom sells cakes for a quick dessert.'],
  },
  {
    requests: ['I lost my wallet in town.', 'My wallet is gone, I think I dropped it.', 'I cannot find my wallet anywhere.'],
    answer: 'You can report it at Gorseby Post Office, which keeps the lost property.',
    reasons: ['It is worth reporting quickly because most wallets are handed in the same day.', 'Your bank can help since it can block the cards tonight.'],
    extras: ['The post office closes at 5:15 pm.', 'It helps to list the places you visited today.'],
  },
  {
    requests: ['I feel lonely since I moved here.', 'I do not know anyone in town yet.', 'Moving here has been lonely.'],
    answer: 'You can join the walking group that meets at Brindlemoor Library on Thursdays.',
    reasons: ['Groups help because you see the same faces every week.', 'A walk is easy company since there is always something to talk about.'],
    extras: ['The Lantern Fair is a good place to meet neighbours.', 'Nell Brackwater runs falconry talks that welcome newcomers.'],
  },
];
