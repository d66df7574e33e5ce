"use strict";

document.getElementById("answer").textContent = String(6 * 7);
